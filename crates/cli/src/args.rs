//! The command line: names and flags that users and scripts rely on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Send, receive and verify signed official dispatches (công văn).
#[derive(Debug, Parser)]
#[command(name = "congvan", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the PKI: roots, CAs, certificates, revocation.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Compose, sign, verify, show and extract dispatches (.cvd files).
    #[command(subcommand)]
    Dispatch(DispatchCommand),
    /// Set up and run a relay.
    #[command(subcommand)]
    Relay(RelayCommand),
    /// Run a timestamp authority (RFC 3161 over HTTP).
    #[command(subcommand)]
    Tsa(TsaCommand),
    /// Exchange with the national document exchange: edXML (QCVN 102:2016)
    /// messages and status messages, both ways.
    #[command(subcommand)]
    Edxml(EdxmlCommand),
    /// Send a signed dispatch through the office's relay.
    Send {
        /// The dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        #[command(flatten)]
        conn: Connection,
    },
    /// List the office's inbox.
    Inbox {
        #[command(flatten)]
        conn: Connection,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Also list the dispatches whose recall the office agreed to
        /// (they have left the working inbox but stay for audit).
        #[arg(long)]
        all: bool,
    },
    /// Ask every recipient of a dispatch this office sent to recall it
    /// (status 13); they answer 15 (agreed) or 16 (refused) with `ack`.
    Recall {
        /// The dispatch id.
        id: String,
        /// Why it is recalled (shown to the recipients).
        #[arg(long)]
        reason: String,
        /// The dispatch as sent, so nothing is downloaded again.
        #[arg(long, value_name = "FILE.cvd")]
        file: Option<PathBuf>,
        #[command(flatten)]
        conn: Connection,
    },
    /// Download a dispatch from the inbox and verify it.
    Fetch {
        /// The dispatch id.
        id: String,
        #[command(flatten)]
        conn: Connection,
        /// Where to write it.
        #[arg(long, value_name = "FILE.cvd")]
        out: PathBuf,
    },
    /// Send a status for a received dispatch (01 arrived ... 06 completed).
    Ack {
        /// The dispatch id.
        id: String,
        /// edXML status code: 01, 02, 03, 04, 05, 06, 15 or 16.
        #[arg(long)]
        status: String,
        /// A note (reason for a rejection, who handles it, ...).
        #[arg(long)]
        note: Option<String>,
        /// The copy of the dispatch already fetched: the status names its
        /// manifest, so nothing is downloaded again.
        #[arg(long, value_name = "FILE.cvd")]
        file: Option<PathBuf>,
        #[command(flatten)]
        conn: Connection,
    },
    /// Show the timeline of a dispatch this office sent: custody receipts and statuses.
    Track {
        /// The dispatch id.
        id: String,
        #[command(flatten)]
        conn: Connection,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print an office's daily or weekly exchange figures from a relay's store.
    Stats {
        /// The relay's configuration file.
        #[arg(long, value_name = "relay.toml")]
        config: PathBuf,
        /// The office (organization id).
        #[arg(long)]
        office: String,
        /// day or week.
        #[arg(long, default_value = "week")]
        period: String,
        /// The (last) day covered, YYYY-MM-DD, Vietnam time (default: today).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Also queue the digest for e-mail to the office's configured addresses.
        #[arg(long)]
        send: bool,
    },
    /// Run a province, a district and a commune relay on loopback and send
    /// signed dispatches through them (nothing needs to be installed).
    Demo {
        /// Working folder (default: a new temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the three relays running with their web workplaces open
        /// until Ctrl-C; print the addresses and demo logins, and write them
        /// to DIR/demo.json.
        #[arg(long)]
        serve: bool,
    },
    /// Manage the accounts of the web workplace (clerks, leaders, auditors).
    #[command(subcommand)]
    User(UserCommand),
}

/// `congvan user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; a leader's signing key is imported, sealed under the PIN.
    Add(Box<UserAddArgs>),
    /// List the accounts.
    List {
        /// The relay's configuration file.
        #[arg(long, value_name = "relay.toml")]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account and end its sessions.
    Disable {
        /// The relay's configuration file.
        #[arg(long, value_name = "relay.toml")]
        config: PathBuf,
        /// The account's login.
        #[arg(long)]
        login: String,
    },
    /// Set a new password (its sessions end).
    Passwd {
        /// The relay's configuration file.
        #[arg(long, value_name = "relay.toml")]
        config: PathBuf,
        /// The account's login.
        #[arg(long)]
        login: String,
        /// File whose first line is the new password (else one is made and printed).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// `congvan user add`.
#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// The relay's configuration file.
    #[arg(long, value_name = "relay.toml")]
    pub config: PathBuf,
    /// The office the person works for (organization id).
    #[arg(long, value_name = "ORGID")]
    pub office: String,
    /// clerk (văn thư), leader (lãnh đạo), auditor or admin.
    #[arg(long)]
    pub role: String,
    /// Login name.
    #[arg(long)]
    pub login: String,
    /// Full name, as pages show it.
    #[arg(long)]
    pub name: String,
    /// File whose first line is the password (else one is made and printed).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Turn on the second factor: a TOTP secret is made and printed once.
    #[arg(long)]
    pub totp: bool,
    /// A leader's official credential folder (cert.pem, key.pem, chain.pem).
    #[arg(long, value_name = "DIR")]
    pub signing_key: Option<PathBuf>,
    /// File whose first line is the leader's signing PIN.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
}

/// How a clerk's tool reaches its relay.
#[derive(Debug, Args)]
pub struct Connection {
    /// The office's relay, e.g. https://127.0.0.1:7443.
    #[arg(long)]
    pub relay: String,
    /// The office's credential folder (cert.pem, key.pem, chain.pem).
    #[arg(long, value_name = "DIR")]
    pub identity: PathBuf,
    /// Trusted root certificate(s).
    #[arg(long, value_name = "ROOT.pem", required = true)]
    pub trust: Vec<PathBuf>,
    /// CRLs (repeatable).
    #[arg(long, value_name = "CRL.pem")]
    pub crl: Vec<PathBuf>,
    /// File holding the key's password (else $CONGVAN_KEY_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// The organization the relay's certificate must bind (else the relay
    /// the registry names for this office, else one of this office's own
    /// organization or above it).
    #[arg(long, value_name = "ORGID")]
    pub relay_org: Option<String>,
    /// The organization registry, to learn which relay serves this office
    /// (else $CONGVAN_REGISTRY).
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
}

/// `congvan edxml ...`
#[derive(Debug, Subcommand)]
pub enum EdxmlCommand {
    /// Turn an edXML message into a .cvd, sealed by this gateway office as an
    /// authenticated copy (what cannot be mapped is reported).
    Import {
        /// The message.
        #[arg(value_name = "FILE.edxml")]
        file: PathBuf,
        /// The gateway office's credential folder (cert.pem, key.pem, chain.pem).
        #[arg(long, value_name = "DIR")]
        identity: PathBuf,
        /// File holding the key's password (else $CONGVAN_KEY_PASSWORD).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// The organization registry (else $CONGVAN_REGISTRY): a message in
        /// the name of an office on congvan is refused.
        #[arg(long, value_name = "FILE")]
        registry: Option<PathBuf>,
        /// Where to write the dispatch.
        #[arg(long, value_name = "FILE.cvd")]
        out: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Write a .cvd as an edXML message (a secret dispatch is refused).
    Export {
        /// The dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        /// Where to write the message.
        #[arg(long, value_name = "FILE.edxml")]
        out: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Read a status message (print it, or --json), or write one from JSON
    /// (--from-json F.json --out F.edxml).
    Status {
        /// The status message to read.
        #[arg(value_name = "FILE.edxml", required_unless_present = "from_json")]
        file: Option<PathBuf>,
        /// Write a status message from this JSON (the shape --json prints).
        #[arg(
            long,
            value_name = "FILE.json",
            requires = "out",
            conflicts_with = "file"
        )]
        from_json: Option<PathBuf>,
        /// Where to write the status message.
        #[arg(long, value_name = "FILE.edxml")]
        out: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// `congvan relay ...`
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Write a working relay.toml into the data folder.
    Init(Box<InitArgs>),
    /// Run the relay until interrupted.
    Run {
        /// The configuration file.
        #[arg(long, value_name = "relay.toml")]
        config: PathBuf,
    },
    /// Have the running relay read its CRL files again, and say what
    /// changed. It also does so by itself when a CRL file changes, and on
    /// SIGHUP. Connections of peers the new lists revoke are closed.
    Reload {
        /// The relay's configuration file.
        #[arg(long, value_name = "relay.toml")]
        config: PathBuf,
    },
    /// Export the proof, from the relay's message log, that it held a
    /// dispatch and its receipts by the time of its batch timestamps (a
    /// JSON file: each record with its Merkle inclusion proof, the batch
    /// statement and the RFC 3161 token). Reads the store only; the relay
    /// may be running.
    Proof {
        /// The dispatch id.
        id: String,
        /// The relay's configuration file.
        #[arg(long, value_name = "relay.toml")]
        config: PathBuf,
        /// Where to write the proof (default: standard output).
        #[arg(long, value_name = "PROOF.json")]
        out: Option<PathBuf>,
    },
    /// Check a proof exported by `relay proof`: every inclusion proof, every
    /// batch statement and every batch timestamp.
    CheckProof {
        /// The proof.
        #[arg(value_name = "PROOF.json")]
        proof: PathBuf,
        /// Trusted root certificate(s), for the batch timestamps.
        #[arg(long, value_name = "ROOT.pem", required = true)]
        trust: Vec<PathBuf>,
        /// The dispatch: its id and manifest must be the ones the proof names.
        #[arg(long, value_name = "FILE.cvd")]
        file: Option<PathBuf>,
    },
}

/// `congvan dispatch ...`
#[derive(Debug, Subcommand)]
pub enum DispatchCommand {
    /// Compose a new, unsigned dispatch.
    New(Box<NewArgs>),
    /// Sign a dispatch as signer, seal, countersign or copy.
    Sign {
        /// The dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        /// The private key (PKCS#8 PEM).
        #[arg(long, value_name = "KEY.pem")]
        key: PathBuf,
        /// The signing certificate; a chain.pem beside it is used when --chain is absent.
        #[arg(long, value_name = "CERT.pem")]
        cert: PathBuf,
        /// CA certificates to include in the signature (repeatable).
        #[arg(long, value_name = "CA.pem")]
        chain: Vec<PathBuf>,
        /// signer (the official), seal (the office, after the signer), countersign, or copy.
        #[arg(long)]
        role: String,
        /// File holding the key's password (else $CONGVAN_KEY_PASSWORD).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Timestamp the signature (JAdES B-T) at this RFC 3161 authority,
        /// e.g. http://127.0.0.1:3161/; the token is checked before the
        /// signature is written.
        #[arg(long, value_name = "URL", requires = "tsa_trust")]
        tsa: Option<String>,
        /// Trusted root certificate(s) for checking the authority's token.
        #[arg(long, value_name = "ROOT.pem")]
        tsa_trust: Vec<PathBuf>,
    },
    /// Verify every signature, attachment and receipt.
    Verify {
        /// The dispatch. Several, or a folder (every `*.cvd` below it), are
        /// verified with one trust store: one line each, then the totals.
        #[arg(value_name = "FILE.cvd", required = true)]
        files: Vec<PathBuf>,
        /// Trusted root certificate(s).
        #[arg(long, value_name = "ROOT.pem", required = true)]
        trust: Vec<PathBuf>,
        /// Extra intermediate CA certificates (repeatable).
        #[arg(long, value_name = "CA.pem")]
        chain: Vec<PathBuf>,
        /// CRLs to check revocation against (repeatable).
        #[arg(long, value_name = "CRL.pem")]
        crl: Vec<PathBuf>,
        /// Verify as of this time (RFC 3339) instead of now.
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        /// Machine-readable report on stdout.
        #[arg(long)]
        json: bool,
        /// Also write a one-page PDF verification report for auditors (one dispatch only).
        #[arg(long, value_name = "REPORT.pdf")]
        report_pdf: Option<PathBuf>,
        /// Use CRLs past their nextUpdate as if current (by default such a
        /// CRL makes the result INDETERMINATE / TRY_LATER: it says nothing of
        /// what was revoked since).
        #[arg(long)]
        allow_stale_crl: bool,
        /// Validate with nothing but the --trust roots and the certificates
        /// and CRLs the dispatch embeds (see `dispatch preserve`): how an
        /// auditor checks a dispatch whose certificates have long expired
        /// and whose CAs are gone. Use --at to choose the moment.
        #[arg(long, conflicts_with_all = ["crl", "chain", "allow_stale_crl", "key"])]
        offline: bool,
        /// For a sealed (secret) dispatch: a recipient's encryption key
        /// (key.pem, cert.pem beside it), to decrypt it and verify the
        /// dispatch inside as well; both layers are reported.
        #[arg(long, value_name = "KEY.pem")]
        key: Option<PathBuf>,
        /// File holding the --key's password (else $CONGVAN_KEY_PASSWORD).
        #[arg(long, value_name = "FILE", requires = "key")]
        password_file: Option<PathBuf>,
    },
    /// Preserve a dispatch for long-term validation (B-LT, B-LTA): embed
    /// the certificates of every chain in it and the CRL of every CA on
    /// them, under an archive timestamp over everything before it. Run it
    /// again before the last authority's certificate expires; each run
    /// covers the earlier ones. Refused, with the file left as it was,
    /// unless the dispatch then verifies offline (`dispatch verify
    /// --offline`).
    Preserve {
        /// The dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        /// The RFC 3161 authority for the archive timestamp, e.g.
        /// http://127.0.0.1:3161/.
        #[arg(long, value_name = "URL")]
        tsa: String,
        /// Trusted root certificate(s): the signers', relays' and the
        /// authorities' (the archive timestamp is checked under them too).
        #[arg(long, value_name = "ROOT.pem", required = true)]
        trust: Vec<PathBuf>,
        /// Extra intermediate CA certificates to embed (repeatable).
        #[arg(long, value_name = "CA.pem")]
        chain: Vec<PathBuf>,
        /// The current CRL of every CA on the chains (repeatable); each
        /// must be issued after the signatures' timestamps.
        #[arg(long, value_name = "CRL.pem")]
        crl: Vec<PathBuf>,
    },
    /// Lay the dispatch out as a Decree 30 document (PDF) with a QR code.
    Render {
        /// The dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        /// Where to write the PDF.
        #[arg(long, value_name = "FILE.pdf")]
        out: PathBuf,
        /// Verify first against these roots and show only valid signatures;
        /// a dispatch that fails verification is not rendered.
        #[arg(long, value_name = "ROOT.pem")]
        trust: Vec<PathBuf>,
        /// CRLs for that verification (repeatable).
        #[arg(long, value_name = "CRL.pem")]
        crl: Vec<PathBuf>,
        /// Use CRLs past their nextUpdate as if current (by default such a
        /// CRL makes the result INDETERMINATE / TRY_LATER: it says nothing of
        /// what was revoked since).
        #[arg(long)]
        allow_stale_crl: bool,
        /// The base address of the issuing office's public verification
        /// page (e.g. https://vanban.hatinh.gov.vn): the QR code then opens
        /// BASE/v/ID/SHA-256, which tells a phone whether the paper is
        /// authentic. Default: the registry's `[[relay]] verify_url` of the
        /// relay serving the issuing office, when --registry names one.
        #[arg(long, value_name = "URL")]
        verify_url: Option<String>,
        /// The organization registry, to find the issuing office's
        /// verification page (else $CONGVAN_REGISTRY, when set).
        #[arg(long, value_name = "FILE")]
        registry: Option<PathBuf>,
    },
    /// Print the dispatch metadata.
    Show {
        /// The dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        /// The metadata as JSON (includes the dispatch `id`).
        #[arg(long, conflicts_with = "id")]
        json: bool,
        /// Print only the dispatch id (for scripts: `ID=$(congvan dispatch show F --id)`).
        #[arg(long)]
        id: bool,
    },
    /// Encrypt a signed dispatch for its recipients (a secret dispatch):
    /// the result is a sealed container that relays carry but cannot read.
    /// Relays cannot verify what is inside, so verify the dispatch first
    /// (`send` verifies it before sealing).
    Encrypt {
        /// The signed dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        /// An encryption certificate to encrypt to (repeatable): every
        /// recipient office's, and the sending office's own for its archive.
        /// A chain.pem beside each is used as its intermediates.
        #[arg(long, value_name = "CERT.pem", required = true)]
        to_cert: Vec<PathBuf>,
        /// The sending office's seal credential (its office/ folder), which
        /// seals the outer container.
        #[arg(long, value_name = "DIR")]
        identity: PathBuf,
        /// Trusted root certificate(s), to validate every encryption certificate.
        #[arg(long, value_name = "ROOT.pem", required = true)]
        trust: Vec<PathBuf>,
        /// CRLs (repeatable): a revoked encryption certificate is refused.
        #[arg(long, value_name = "CRL.pem")]
        crl: Vec<PathBuf>,
        /// File holding the seal key's password (else $CONGVAN_KEY_PASSWORD).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Where to write the sealed container.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Decrypt a sealed dispatch (or a JWE file) with an office's
    /// encryption key; the dispatch inside is checked against the routing
    /// header and should then be verified.
    Decrypt {
        /// The sealed container, or a JWE in JSON serialization.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The office's encryption key (its encryption/ folder's key.pem,
        /// with cert.pem beside it), or that folder.
        #[arg(long, value_name = "KEY.pem")]
        key: PathBuf,
        /// File holding the key's password (else $CONGVAN_KEY_PASSWORD).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Where to write the dispatch.
        #[arg(long, value_name = "FILE.cvd")]
        out: PathBuf,
    },
    /// Write the attachments, metadata and manifest into a folder, verifying each attachment.
    Extract {
        /// The dispatch.
        #[arg(value_name = "FILE.cvd")]
        file: PathBuf,
        /// The folder to write into; existing files are never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `congvan dispatch new` arguments.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The issuing office's organization id.
    #[arg(long)]
    pub from: String,
    /// Recipient organization ids, comma-separated or repeated.
    #[arg(long, required = true)]
    pub to: Vec<String>,
    /// Document type: Vietnamese name ("Quyết định"), slug (quyet-dinh) or abbreviation (QĐ).
    #[arg(long = "type")]
    pub doc_type: String,
    /// Number and notation, e.g. "15/QĐ-UBND" (a công văn: "05/UBND-VP").
    #[arg(long)]
    pub number: String,
    /// Subject excerpt (trích yếu).
    #[arg(long)]
    pub subject: String,
    /// A UTF-8 text file with the content.
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// A file to attach (repeatable); stored as it is.
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// 0-4 or thuong, khan, thuong-khan, hoa-toc, hoa-toc-hen-gio.
    #[arg(long, default_value = "0")]
    pub urgency: String,
    /// The appointed time (RFC 3339) for hoa-toc-hen-gio.
    #[arg(long, value_name = "RFC3339")]
    pub appointment: Option<String>,
    /// mat, toi-mat or tuyet-mat.
    #[arg(long)]
    pub secrecy: Option<String>,
    /// Due date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// The dispatch date, YYYY-MM-DD (default: today in Vietnam).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Place name (default: from the registry).
    #[arg(long)]
    pub place: Option<String>,
    /// Id of a dispatch this one answers (repeatable).
    #[arg(long = "reply-to", value_name = "ID")]
    pub reply_to: Vec<String>,
    /// The organization registry (default $CONGVAN_REGISTRY).
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
    /// Take the signer's name and position from this official's certificate.
    #[arg(long, value_name = "CERT.pem")]
    pub signer_cert: Option<PathBuf>,
    /// The signer's full name.
    #[arg(long)]
    pub signer_name: Option<String>,
    /// The signer's position, e.g. "Chủ tịch".
    #[arg(long)]
    pub signer_position: Option<String>,
    /// Authority prefix: TM, KT, TL, TUQ or Q.
    #[arg(long)]
    pub signer_prefix: Option<String>,
    /// The authority after the prefix, e.g. "ỦY BAN NHÂN DÂN".
    #[arg(long)]
    pub signer_authority: Option<String>,
    /// The collective body a deputy signs for, printed "TM. <body>" above
    /// "KT. <authority>" (with --signer-prefix KT), e.g. "ỦY BAN NHÂN DÂN".
    #[arg(long, value_name = "BODY")]
    pub signer_on_behalf_of: Option<String>,
    /// The id of an earlier dispatch of this office that this one replaces
    /// ("văn bản thay thế"); recipients see the earlier one marked.
    #[arg(long, value_name = "ID", conflicts_with = "updates")]
    pub replaces: Option<String>,
    /// The id of an earlier dispatch of this office that this one updates.
    #[arg(long, value_name = "ID")]
    pub updates: Option<String>,
    /// A line of the printed "Nơi nhận" block, in order; repeat it, ending
    /// with the archive line, e.g. --place-line "Như trên;" --place-line "Lưu: VT, TH.".
    #[arg(long = "place-line", value_name = "TEXT")]
    pub place_lines: Vec<String>,
    /// Where to write the new dispatch.
    #[arg(long, value_name = "FILE.cvd")]
    pub out: PathBuf,
}

/// Key algorithms for new keys.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AlgArg {
    /// ECDSA P-256 (default).
    P256,
    /// Ed25519.
    Ed25519,
}

/// `congvan tsa` subcommands.
#[derive(Debug, Subcommand)]
pub enum TsaCommand {
    /// Answer RFC 3161 requests (`application/timestamp-query` POSTed to
    /// any path) with tokens signed by a TSA credential, until SIGINT or
    /// SIGTERM.
    Run {
        /// Address to listen on, e.g. 127.0.0.1:3161.
        #[arg(long, value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// The TSA's credential directory (cert.pem, key.pem, chain.pem),
        /// issued with `congvan pki issue --role tsa`.
        #[arg(long, value_name = "DIR")]
        identity: PathBuf,
        /// The OID of the TSA policy the operator publishes; every token names it.
        #[arg(long, value_name = "OID")]
        policy: String,
    },
}

/// Certificate roles.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    /// An organization's seal; also authenticates the office to its relay.
    Office,
    /// A person signing in a position.
    Official,
    /// A relay (TLS server and client).
    Relay,
    /// An office's encryption key for secret dispatches (P-256, keyAgreement only).
    Encryption,
    /// A timestamp authority (RFC 3161; extended key usage timeStamping, critical).
    Tsa,
}

/// Where a new key comes from.
#[derive(Debug, Args)]
pub struct KeySource {
    /// Algorithm of a newly generated key.
    #[arg(long, value_enum, default_value = "p256")]
    pub alg: AlgArg,
    /// Use this existing PKCS#8 key (P-256, P-384, Ed25519 or RSA) instead of generating one.
    #[arg(long, value_name = "KEY.pem")]
    pub key: Option<PathBuf>,
    /// File holding the password of an encrypted key (else $CONGVAN_KEY_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// `congvan pki ...`
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a self-signed national root CA.
    InitRoot {
        /// The root's name (subject CN).
        #[arg(long)]
        name: String,
        /// Directory to write cert.pem, key.pem and chain.pem into.
        #[arg(long)]
        out: PathBuf,
        /// Days of validity.
        #[arg(long, default_value_t = 7300)]
        days: u32,
        #[command(flatten)]
        key: KeySource,
    },
    /// Issue a provincial or ministry CA limited to an organization subtree.
    IssueCa {
        /// The issuing CA's directory.
        #[arg(long)]
        issuer: PathBuf,
        /// The CA's name (subject CN).
        #[arg(long)]
        name: String,
        /// The organization id whose subtree the CA may issue for.
        #[arg(long)]
        org: String,
        /// Directory to write the new CA into.
        #[arg(long)]
        out: PathBuf,
        /// Days of validity (capped by the issuer's).
        #[arg(long, default_value_t = 3650)]
        days: u32,
        #[command(flatten)]
        key: KeySource,
    },
    /// Issue an office, official or relay certificate.
    Issue {
        /// The issuing CA's directory.
        #[arg(long)]
        issuer: PathBuf,
        /// What the certificate is for.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Subject name: the office's, the official's or the relay's.
        #[arg(long)]
        name: String,
        /// The organization id the certificate binds.
        #[arg(long)]
        org: String,
        /// The office's name, when --name is a person or a relay.
        #[arg(long)]
        org_name: Option<String>,
        /// An official's position, e.g. "Chủ tịch".
        #[arg(long)]
        position: Option<String>,
        /// A DNS name the relay answers to (repeatable).
        #[arg(long)]
        dns: Vec<String>,
        /// An IP address the relay answers on (repeatable).
        #[arg(long)]
        ip: Vec<std::net::IpAddr>,
        /// Days of validity (capped by the issuer's).
        #[arg(long, default_value_t = 730)]
        days: u32,
        /// Directory to write the credential into.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        key: KeySource,
    },
    /// Record the revocation of a certificate this CA issued.
    Revoke {
        /// The issuing CA's directory.
        #[arg(long)]
        issuer: PathBuf,
        /// The certificate to revoke.
        #[arg(long, value_name = "CERT.pem")]
        cert: PathBuf,
        /// RFC 5280 reason: unspecified, keyCompromise, cACompromise,
        /// affiliationChanged, superseded, cessationOfOperation, certificateHold.
        #[arg(long, default_value = "unspecified")]
        reason: String,
        /// File holding the CA key's password (else $CONGVAN_KEY_PASSWORD).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Write a signed CRL of everything this CA has revoked.
    Crl {
        /// The issuing CA's directory.
        #[arg(long)]
        issuer: PathBuf,
        /// Where to write the CRL (PEM).
        #[arg(long, value_name = "CRL.pem")]
        out: PathBuf,
        /// Days until the next CRL is due.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// File holding the CA key's password (else $CONGVAN_KEY_PASSWORD).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Check a certificate against trust anchors, CAs and CRLs.
    VerifyCert {
        /// Trusted root certificate(s).
        #[arg(long, value_name = "ROOT.pem", required = true)]
        trust: Vec<PathBuf>,
        /// Intermediate CA certificates (repeatable).
        #[arg(long, value_name = "CA.pem")]
        chain: Vec<PathBuf>,
        /// CRLs to check revocation against (repeatable).
        #[arg(long, value_name = "CRL.pem")]
        crl: Vec<PathBuf>,
        /// Validate at this time (RFC 3339) instead of now.
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        /// Require this role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Require this organization id.
        #[arg(long)]
        org: Option<String>,
        /// Machine-readable output on stdout.
        #[arg(long)]
        json: bool,
        /// Use CRLs past their nextUpdate as if current (by default such a
        /// CRL makes the result INDETERMINATE / TRY_LATER: it says nothing of
        /// what was revoked since).
        #[arg(long)]
        allow_stale_crl: bool,
        /// The certificate to check.
        #[arg(value_name = "CERT.pem")]
        cert: PathBuf,
    },
    /// Build the illustrative demo PKI: root, province CA, offices, officials, relays.
    Demo {
        /// Directory to build it in.
        #[arg(long)]
        out: PathBuf,
        /// Key algorithm.
        #[arg(long, value_enum, default_value = "p256")]
        alg: AlgArg,
    },
}

impl AlgArg {
    /// The library algorithm.
    pub fn algorithm(self) -> congvan_sign::Algorithm {
        match self {
            AlgArg::P256 => congvan_sign::Algorithm::EcdsaP256,
            AlgArg::Ed25519 => congvan_sign::Algorithm::Ed25519,
        }
    }
}

impl RoleArg {
    /// The library role.
    pub fn role(self) -> congvan_sign::Role {
        match self {
            RoleArg::Office => congvan_sign::Role::Office,
            RoleArg::Official => congvan_sign::Role::Official,
            RoleArg::Relay => congvan_sign::Role::Relay,
            RoleArg::Encryption => congvan_sign::Role::Encryption,
            RoleArg::Tsa => congvan_sign::Role::Tsa,
        }
    }
}

/// `congvan relay init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The office whose relay this is.
    #[arg(long)]
    pub org: String,
    /// HTTPS listen address, e.g. 127.0.0.1:7443.
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// The relay's credential folder.
    #[arg(long, value_name = "DIR")]
    pub tls: PathBuf,
    /// Trusted root certificate(s).
    #[arg(long, value_name = "ROOT.pem", required = true)]
    pub trust: Vec<PathBuf>,
    /// CRLs (repeatable).
    #[arg(long, value_name = "CRL.pem")]
    pub crl: Vec<PathBuf>,
    /// The parent relay's URL.
    #[arg(long)]
    pub parent: Option<String>,
    /// Long-poll the parent for traffic coming down (behind NAT).
    #[arg(long)]
    pub pull: bool,
    /// A child relay that accepts pushes: NAME=URL (repeatable); other children pull.
    #[arg(long, value_name = "NAME=URL")]
    pub child: Vec<String>,
    /// The state folder; relay.toml is written there.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The organization registry (default $CONGVAN_REGISTRY).
    #[arg(long, value_name = "FILE")]
    pub registry: Option<PathBuf>,
    /// Also serve the web workplace on this address (plain HTTP on a
    /// loopback address, for a TLS proxy; HTTPS with the relay's
    /// certificate anywhere else).
    #[arg(long, value_name = "ADDR")]
    pub web: Option<std::net::SocketAddr>,
    /// An office whose clerks use the web workplace: ORGID=FOLDER, FOLDER
    /// being its office credential (the seal). Repeatable; with --web and
    /// none given, the relay's own office and --tls's sibling office/.
    #[arg(long, value_name = "ORGID=FOLDER")]
    pub web_office: Vec<String>,
}
