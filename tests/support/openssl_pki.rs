//! A PKI made with the real `openssl` binary, for judging congvan's path
//! validation against chains it did not make: a root (`root/`) and an
//! intermediate (`int/`), `openssl ca` configurations with the extension
//! sections the tests use, leaves of any key type, and CRLs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::process::{self, openssl, tempdir, Run};

/// A temporary path as `&str`.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

// ---------------------------------------------------------------------------
// Hierarchies made by OpenSSL, judged by congvan.

#[derive(Clone, Copy, Debug)]
pub enum KeyAlg {
    Rsa2048,
    P256,
}

impl KeyAlg {
    pub fn genpkey(self) -> &'static [&'static str] {
        match self {
            KeyAlg::Rsa2048 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            KeyAlg::P256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        }
    }

    /// How `openssl x509 -text` names certificate signatures by such a key.
    pub fn signature_name(self) -> &'static str {
        match self {
            KeyAlg::Rsa2048 => "sha256WithRSAEncryption",
            KeyAlg::P256 => "ecdsa-with-SHA256",
        }
    }
}

/// An `openssl ca` configuration; `@NAME@` is the CA's directory. The
/// extension sections are what the issue asks the OpenSSL hierarchy to use.
pub const CA_CONFIG: &str = r#"
[ ca ]
default_ca = CA_default

[ CA_default ]
dir = ./@NAME@
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir
certificate = $dir/cert.pem
private_key = $dir/key.pem
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
crl_extensions = crl_ext

[ policy_any ]
countryName = optional
commonName = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = replaced by -subj

[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# Looks like an intermediate (it even has keyCertSign) but is not a CA.
[ v3_not_ca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_official ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = 1.3.6.1.5.5.7.3.36, 2.25.171838327477816780108237510255657800027.1.2
subjectAltName = URI:urn:congvan:org:H99.01
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# Limited by its extended key usage to e-mail protection (S/MIME).
[ v3_ca_email_only ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# May issue certificates but not sign CRLs.
[ v3_ca_no_crlsign ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_root_no_bc ]
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_root_no_crlsign ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign
subjectKeyIdentifier = hash

[ v3_root_unknown_critical ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
1.2.3.4.5 = critical, ASN1:NULL

[ v3_relay ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth, 2.25.171838327477816780108237510255657800027.1.3
subjectAltName = URI:urn:congvan:org:H99.01, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# Name constraints that are not marked critical (RFC 5280 says MUST).
[ v3_ca_nc_noncritical ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
nameConstraints = permitted;DNS:example.com

# A dNSName constraint written with a leading period.
[ v3_ca_nc_leading_period ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
nameConstraints = critical, permitted;DNS:.example.com

[ v3_ca_pc_noncritical ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
policyConstraints = requireExplicitPolicy:0

# An official's certificate that carries name constraints like a CA.
[ v3_official_with_nc ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = 1.3.6.1.5.5.7.3.36, 2.25.171838327477816780108237510255657800027.1.2
subjectAltName = URI:urn:congvan:org:H99.01
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
nameConstraints = critical, permitted;DNS:example.com

[ v3_official_any_eku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = anyExtendedKeyUsage, 1.3.6.1.5.5.7.3.36, 2.25.171838327477816780108237510255657800027.1.2
subjectAltName = URI:urn:congvan:org:H99.01
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_official_no_eku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectAltName = URI:urn:congvan:org:H99.01
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# A relay certificate also good for signing code.
[ v3_relay_code_signing ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth, codeSigning, 2.25.171838327477816780108237510255657800027.1.3
subjectAltName = URI:urn:congvan:org:H99.01, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# Roots whose authority key identifier has no keyIdentifier, or another one.
# A partitioned CRL: it speaks only for one distribution point.
[ crl_ext_idp ]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp

[ idp ]
fullname = URI:http://crl.example/part1.crl

[ v3_official_no_digital_signature ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, nonRepudiation
extendedKeyUsage = 1.3.6.1.5.5.7.3.36, 2.25.171838327477816780108237510255657800027.1.2
subjectAltName = URI:urn:congvan:org:H99.01
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"#;

/// Validity of the OpenSSL CAs: from 2019 to the 2040s, so a leaf can be
/// expired today and valid at a time in 2020.
pub const CA_DATES: [&str; 4] = [
    "-startdate",
    "20190101000000Z",
    "-enddate",
    "20440101000000Z",
];
pub const LEAF_DATES: [&str; 4] = [
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20430101000000Z",
];
pub const EXPIRED_DATES: [&str; 4] = [
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20210101000000Z",
];

/// A root (`root/`) and an intermediate (`int/`) made by OpenSSL in a temp
/// dir, plus one leaf key and request that every leaf reuses.
pub struct Hierarchy {
    tmp: tempfile::TempDir,
    alg: KeyAlg,
    next_serial: std::cell::Cell<u32>,
}

impl Hierarchy {
    pub fn new(alg: KeyAlg) -> Hierarchy {
        Hierarchy::with_root(alg, "v3_root", ["20190101000000Z", "20450101000000Z"])
    }

    /// A hierarchy whose root has extension section `root_ext` and validity
    /// `[start, end]`.
    pub fn with_root(alg: KeyAlg, root_ext: &str, root_dates: [&str; 2]) -> Hierarchy {
        let h = Hierarchy {
            tmp: tempdir(),
            alg,
            next_serial: std::cell::Cell::new(0x1000),
        };
        h.ca_dir("root");
        h.genkey("root/key.pem");
        h.openssl(&[
            "req",
            "-new",
            "-config",
            "root/ca.cnf",
            "-key",
            "root/key.pem",
            "-subj",
            "/C=VN/CN=OpenSSL Root",
            "-out",
            "root/req.csr",
        ]);
        let mut selfsign = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "root/ca.cnf",
            "-selfsign",
            "-extensions",
            root_ext,
            "-in",
            "root/req.csr",
            "-out",
            "root/cert.pem",
        ];
        selfsign.extend(["-startdate", root_dates[0], "-enddate", root_dates[1]]);
        h.openssl(&selfsign);
        h.sub_ca("int", "v3_ca");
        h.genkey("leaf.key");
        h.openssl(&[
            "req",
            "-new",
            "-config",
            "root/ca.cnf",
            "-key",
            "leaf.key",
            "-subj",
            "/C=VN/CN=OpenSSL leaf",
            "-out",
            "leaf.csr",
        ]);
        h
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir().join(rel)
    }

    pub fn openssl(&self, args: &[&str]) -> Run {
        openssl(self.dir(), args)
    }

    /// Runs `openssl ARGS` expecting a failure; returns its output.
    pub fn openssl_fails(&self, args: &[&str]) -> String {
        let run = process::run(
            std::process::Command::new("openssl")
                .current_dir(self.dir())
                .args(args),
        );
        assert_ne!(run.code, Some(0), "openssl should have failed\n{run}");
        run.output()
    }

    pub fn genkey(&self, out: &str) {
        let mut args = vec!["genpkey"];
        args.extend(self.alg.genpkey());
        args.extend(["-out", out]);
        self.openssl(&args);
    }

    /// Makes `NAME/` with what `openssl ca` needs: config, database, serial.
    pub fn ca_dir(&self, name: &str) {
        let dir = self.path(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("ca.cnf"), CA_CONFIG.replace("@NAME@", name)).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        let serial = self.next_serial.get();
        self.next_serial.set(serial + 0x1000);
        std::fs::write(dir.join("serial"), format!("{serial:04X}\n")).unwrap();
        std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
    }

    /// A CA certificate `NAME/cert.pem` with key `NAME/key.pem`, issued by
    /// the root with extension section `ext`.
    pub fn sub_ca(&self, name: &str, ext: &str) -> PathBuf {
        self.sub_ca_with(name, ext, &CA_DATES, None)
    }

    /// [`Hierarchy::sub_ca`] with other dates and, when given, a key made
    /// with these `genpkey` arguments instead of the hierarchy's algorithm.
    pub fn sub_ca_with(
        &self,
        name: &str,
        ext: &str,
        dates: &[&str],
        key: Option<&[&str]>,
    ) -> PathBuf {
        self.ca_dir(name);
        let key_path = format!("{name}/key.pem");
        match key {
            Some(genpkey) => {
                let mut args = vec!["genpkey"];
                args.extend(genpkey);
                args.extend(["-out", &key_path]);
                self.openssl(&args);
            }
            None => self.genkey(&key_path),
        }
        let csr = format!("{name}/req.csr");
        let subj = format!("/C=VN/CN=OpenSSL {name}");
        self.openssl(&[
            "req",
            "-new",
            "-config",
            "root/ca.cnf",
            "-key",
            &format!("{name}/key.pem"),
            "-subj",
            &subj,
            "-out",
            &csr,
        ]);
        let cert = format!("{name}/cert.pem");
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "root/ca.cnf",
            "-extensions",
            ext,
            "-in",
            &csr,
            "-out",
            &cert,
        ];
        args.extend(dates);
        self.openssl(&args);
        self.path(&cert)
    }

    /// A leaf `NAME.pem` with its own key, made by `genpkey ARGS` (for key
    /// types and sizes the hierarchy's leaf key is not), issued by `issuer`.
    pub fn leaf_with_key(&self, issuer: &str, ext: &str, name: &str, genpkey: &[&str]) -> PathBuf {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let mut args = vec!["genpkey"];
        args.extend(genpkey);
        args.extend(["-out", &key]);
        self.openssl(&args);
        self.openssl(&[
            "req",
            "-new",
            "-config",
            "root/ca.cnf",
            "-key",
            &key,
            "-subj",
            &format!("/C=VN/CN=OpenSSL {name}"),
            "-out",
            &csr,
        ]);
        let config = format!("{issuer}/ca.cnf");
        let out = format!("{name}.pem");
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            &config,
            "-extensions",
            ext,
            "-in",
            &csr,
            "-out",
            &out,
        ];
        args.extend(LEAF_DATES);
        self.openssl(&args);
        self.path(&out)
    }

    /// A CRL `NAME.crl.pem` issued by CA directory `issuer` (`openssl ca
    /// -gencrl`, with `extra` arguments such as `-crl_nextupdate`).
    pub fn crl(&self, issuer: &str, name: &str, extra: &[&str]) -> PathBuf {
        let config = format!("{issuer}/ca.cnf");
        let out = format!("{name}.crl.pem");
        let mut args = vec!["ca", "-gencrl", "-config", &config, "-out", &out];
        args.extend(extra);
        self.openssl(&args);
        self.path(&out)
    }

    /// A CRL `NAME.crl.pem` in the name of CA directory `issuer`, written
    /// with Python's cryptography for what `openssl ca` cannot write: a
    /// crlNumber marked critical, or a list signed with a key that is not
    /// the CA's (`signer`: `Signer::Ca` or `Signer::Stranger`).
    pub fn python_crl(
        &self,
        issuer: &str,
        name: &str,
        number: u32,
        number_critical: bool,
        signer: Signer,
    ) -> PathBuf {
        let out = self.path(&format!("{name}.crl.pem"));
        let key = match signer {
            Signer::Ca => self
                .path(&format!("{issuer}/key.pem"))
                .display()
                .to_string(),
            Signer::Stranger => "stranger".to_string(),
        };
        process::run(std::process::Command::new("python3").args([
            "-c",
            "import sys, datetime\n\
from cryptography import x509\n\
from cryptography.hazmat.primitives import hashes, serialization\n\
from cryptography.hazmat.primitives.asymmetric import ec\n\
ca = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())\n\
own = lambda: serialization.load_pem_private_key(open(sys.argv[2], 'rb').read(), None)\n\
key = ec.generate_private_key(ec.SECP256R1()) if sys.argv[2] == 'stranger' else own()\n\
now = datetime.datetime.now(datetime.timezone.utc)\n\
b = x509.CertificateRevocationListBuilder().issuer_name(ca.subject)\n\
b = b.last_update(now).next_update(now + datetime.timedelta(days=7))\n\
b = b.add_extension(x509.CRLNumber(int(sys.argv[3])), critical=sys.argv[4] == 'critical')\n\
open(sys.argv[5], 'wb').write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))\n",
            s(&self.path(&format!("{issuer}/cert.pem"))),
            &key,
            &number.to_string(),
            if number_critical { "critical" } else { "not-critical" },
            s(&out),
        ]))
        .assert_ok();
        out
    }

    /// A leaf `NAME.pem` issued by CA directory `issuer` with extension
    /// section `ext` and the given `-startdate/-enddate` (or `-days`) flags.
    pub fn leaf(&self, issuer: &str, ext: &str, name: &str, dates: &[&str]) -> PathBuf {
        let config = format!("{issuer}/ca.cnf");
        let subj = format!("/C=VN/CN=OpenSSL {name}");
        let out = format!("{name}.pem");
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            &config,
            "-extensions",
            ext,
            "-subj",
            &subj,
            "-in",
            "leaf.csr",
            "-out",
            &out,
        ];
        args.extend(dates);
        self.openssl(&args);
        self.path(&out)
    }

    /// `openssl verify` of a leaf under the root with `untrusted` CAs.
    pub fn openssl_verify_args<'a>(&'a self, untrusted: &'a str, leaf: &'a Path) -> Vec<&'a str> {
        vec![
            "verify",
            "-CAfile",
            "root/cert.pem",
            "-untrusted",
            untrusted,
            s(leaf),
        ]
    }

    /// `congvan pki verify-cert --trust root/cert.pem ARGS... LEAF`.
    pub fn verify_cert(&self, args: &[&str], leaf: &Path) -> Run {
        let root = self.path("root/cert.pem");
        let mut all = vec!["pki", "verify-cert", "--trust", s(&root)];
        all.extend(args);
        all.push(s(leaf));
        process::run(
            std::process::Command::new(process::congvan_bin())
                .current_dir(self.dir())
                .args(all),
        )
    }
}

/// Whose key signs a list made by [`Hierarchy::python_crl`].
pub enum Signer {
    /// The CA's own key.
    Ca,
    /// A key made for the occasion: a forgery in the CA's name.
    Stranger,
}

/// What `verify-cert` should decide.
pub enum Expect<'a> {
    /// Exit 0, and the JSON names the official's role and organization.
    Valid,
    /// Exit 1 with this `reason` code in JSON, and these words in the text.
    Invalid { code: &'a str, words: &'a str },
}

/// Runs `verify-cert` on `leaf` twice, with `--json` and for people, and
/// checks both outputs against `expect`.
#[track_caller]
pub fn judge(h: &Hierarchy, args: &[&str], leaf: &Path, expect: Expect<'_>) {
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json_run = h.verify_cert(&json_args, leaf);
    let text_run = h.verify_cert(args, leaf);
    for run in [&json_run, &text_run] {
        assert!(!run.stderr.contains("panicked"), "{run}");
    }
    let json: Value = serde_json::from_str(json_run.stdout.trim())
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e})\n{json_run}"));
    match expect {
        Expect::Valid => {
            json_run.assert_code(0);
            text_run.assert_code(0);
            assert_eq!(json["valid"], true, "{json_run}");
            assert_eq!(json["role"], "official", "{json_run}");
            assert_eq!(json["org"], "H99.01", "{json_run}");
            assert_eq!(
                json["chain"].as_array().map(Vec::len),
                Some(3),
                "{json_run}"
            );
            assert!(text_run.stdout.starts_with("VALID"), "{text_run}");
        }
        Expect::Invalid { code, words } => {
            json_run.assert_code(1);
            text_run.assert_code(1);
            assert_eq!(json["valid"], false, "{json_run}");
            assert_eq!(json["reason"], code, "{json_run}");
            assert!(text_run.stdout.starts_with("INVALID"), "{text_run}");
            let reason = text_run
                .stdout
                .lines()
                .find(|l| l.trim_start().starts_with("reason:"))
                .unwrap_or_else(|| panic!("no reason line\n{text_run}"));
            assert!(
                reason.contains(words),
                "reason should say {words:?}\n{text_run}"
            );
        }
    }
}
