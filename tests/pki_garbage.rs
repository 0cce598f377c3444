//! Garbage in: every `congvan pki` command that reads a file is given, in
//! turn, a missing file, an empty file, random bytes, a truncated PEM, a PEM
//! of the wrong type, DER garbage, a directory and (for keys) an encrypted
//! key with no, a wrong and the right password.
//!
//! Every failure must exit 2 with a `congvan: ` message on stderr that names
//! the offending file, and nothing may panic. Each test also runs its command
//! once with good input, so a failure is the garbage's doing.
//!
//! Needs the `openssl` command (3.x) for keys made outside congvan.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::process;
use crate::support::process::{congvan, congvan_bin, openssl, tempdir, Run};

fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A kind of bad input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Garbage {
    Missing,
    Empty,
    RandomBytes,
    /// A real PEM file cut in half.
    TruncatedPem,
    /// A key where a certificate or CRL is expected, a certificate where a key is.
    WrongPemType,
    /// Starts like DER (0x30, a SEQUENCE) and is nonsense after.
    Der,
    Directory,
}

const ALL_GARBAGE: [Garbage; 7] = [
    Garbage::Missing,
    Garbage::Empty,
    Garbage::RandomBytes,
    Garbage::TruncatedPem,
    Garbage::WrongPemType,
    Garbage::Der,
    Garbage::Directory,
];

/// What a file should have held.
#[derive(Clone, Copy, Debug)]
enum Input {
    Cert,
    Key,
    Crl,
}

/// Deterministic bytes that are neither UTF-8 nor DER.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    out[0] = 0xff; // never valid UTF-8, never a DER SEQUENCE
    out
}

/// A demo PKI and a CRL to draw good and bad inputs from.
struct Fixture {
    tmp: tempfile::TempDir,
    demo: PathBuf,
    crl: PathBuf,
    counter: Cell<u32>,
    failures: std::cell::RefCell<Vec<String>>,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempdir();
        let demo = tmp.path().join("demo");
        congvan(["pki", "demo", "--out", s(&demo)]).assert_ok();
        let fx = Fixture {
            tmp,
            demo,
            crl: PathBuf::new(),
            counter: Cell::new(0),
            failures: Default::default(),
        };
        // A real CRL with one entry, from a copy of the provincial CA.
        let ca = fx.copy_credential(&fx.ca());
        congvan([
            "pki",
            "revoke",
            "--issuer",
            s(&ca),
            "--cert",
            s(&fx.demo.join("H99.02/office/cert.pem")),
        ])
        .assert_ok();
        let crl = fx.tmp.path().join("h99.crl");
        congvan(["pki", "crl", "--issuer", s(&ca), "--out", s(&crl)]).assert_ok();
        Fixture { crl, ..fx }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn root(&self) -> PathBuf {
        self.demo.join("root")
    }

    fn ca(&self) -> PathBuf {
        self.demo.join("ca-h99")
    }

    /// A certificate the provincial CA issued.
    fn leaf(&self) -> PathBuf {
        self.demo.join("H99.01/office/cert.pem")
    }

    /// A path no test has used yet.
    fn fresh(&self, name: &str) -> PathBuf {
        let n = self.counter.get();
        self.counter.set(n + 1);
        self.dir().join(format!("{n:03}-{name}"))
    }

    fn password_file(&self, password: &str) -> PathBuf {
        let path = self.fresh("password.txt");
        std::fs::write(&path, format!("{password}\n")).unwrap();
        path
    }

    /// Writes garbage of `kind` where a file of `input` kind is expected.
    fn garbage(&self, kind: Garbage, input: Input) -> PathBuf {
        let path = self.fresh(&format!("{kind:?}-{input:?}.pem"));
        let half = |source: &Path| {
            let text = std::fs::read_to_string(source).unwrap();
            text[..text.len() / 2].to_string().into_bytes()
        };
        let bytes = match kind {
            Garbage::Missing => return path,
            Garbage::Directory => {
                std::fs::create_dir(&path).unwrap();
                return path;
            }
            Garbage::Empty => Vec::new(),
            Garbage::RandomBytes => random_bytes(512, u64::from(self.counter.get())),
            Garbage::Der => {
                let mut der = vec![0x30, 0x82, 0x01, 0x00];
                der.extend(random_bytes(60, 7));
                der
            }
            Garbage::TruncatedPem => match input {
                Input::Cert => half(&self.leaf()),
                Input::Key => half(&self.leaf().with_file_name("key.pem")),
                Input::Crl => half(&self.crl),
            },
            Garbage::WrongPemType => match input {
                Input::Cert | Input::Crl => {
                    std::fs::read(self.leaf().with_file_name("key.pem")).unwrap()
                }
                Input::Key => std::fs::read(self.leaf()).unwrap(),
            },
        };
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Copies a credential directory (cert.pem, key.pem, chain.pem and any
    /// revoked.json) to a fresh directory.
    fn copy_credential(&self, from: &Path) -> PathBuf {
        let to = self.fresh(from.file_name().unwrap().to_str().unwrap());
        std::fs::create_dir(&to).unwrap();
        for name in ["cert.pem", "key.pem", "chain.pem", "revoked.json"] {
            if from.join(name).exists() {
                std::fs::copy(from.join(name), to.join(name)).unwrap();
            }
        }
        to
    }

    /// Replaces `dir/name` with garbage of `kind`.
    fn spoil(&self, dir: &Path, name: &str, kind: Garbage, input: Input) -> PathBuf {
        let target = dir.join(name);
        std::fs::remove_file(&target).ok();
        if kind != Garbage::Missing {
            let bad = self.garbage(kind, input);
            std::fs::rename(bad, &target).unwrap();
        }
        target
    }

    /// An encrypted PKCS#8 copy of `key` (password "right"), made with
    /// `openssl pkcs8 -topk8 -v2 aes-256-cbc`.
    fn encrypt_key(&self, key: &Path) -> PathBuf {
        let out = self.fresh("encrypted-key.pem");
        openssl(
            self.dir(),
            [
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                s(key),
                "-passout",
                "pass:right",
                "-out",
                s(&out),
            ],
        );
        out
    }

    /// Records a failure unless `run` exited 2 with a message naming `path`.
    fn expect_input_error(&self, what: &str, run: &Run, path: &Path) {
        let named = path.display().to_string();
        let problem = if run.stderr.contains("panicked") {
            Some("it panicked")
        } else if run.code != Some(2) {
            Some("exit code is not 2")
        } else if !run.stderr.starts_with("congvan: ") {
            Some("stderr has no `congvan: ` message (a usage error?)")
        } else if !run.stderr.contains(&named) {
            Some("stderr does not name the file")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.failures
                .borrow_mut()
                .push(format!("{what}: {problem} ({named})\n{run}"));
        }
    }

    /// Records a failure unless `run` succeeded.
    fn expect_ok(&self, what: &str, run: &Run) {
        if run.code != Some(0) || run.stderr.contains("panicked") {
            self.failures
                .borrow_mut()
                .push(format!("{what}: should have succeeded\n{run}"));
        }
    }

    #[track_caller]
    fn finish(self) {
        let failures = self.failures.borrow();
        assert!(
            failures.is_empty(),
            "{} case(s) failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }

    /// Runs `make_args(KEY, PASSWORD_FILE)` with every garbage key, then with
    /// an encrypted key (no password, wrong, right) and a good key.
    fn check_key_input(
        &self,
        command: &str,
        make_args: &dyn Fn(&Path, Option<&Path>) -> Vec<String>,
    ) {
        for kind in ALL_GARBAGE {
            let key = self.garbage(kind, Input::Key);
            let run = congvan(make_args(&key, None));
            self.expect_input_error(&format!("{command} --key {kind:?}"), &run, &key);
        }
        let encrypted = self.fresh("genpkey-encrypted.pem");
        openssl(
            self.dir(),
            [
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-aes-256-cbc",
                "-pass",
                "pass:right",
                "-out",
                s(&encrypted),
            ],
        );
        let run = congvan(make_args(&encrypted, None));
        self.expect_input_error(
            &format!("{command} --key encrypted, no password"),
            &run,
            &encrypted,
        );
        if !run.stderr.contains("password") {
            self.failures
                .borrow_mut()
                .push(format!("{command}: should ask for a password\n{run}"));
        }
        let wrong = self.password_file("wrong");
        let run = congvan(make_args(&encrypted, Some(&wrong)));
        self.expect_input_error(
            &format!("{command} --key encrypted, wrong password"),
            &run,
            &encrypted,
        );
        let right = self.password_file("right");
        let run = congvan(make_args(&encrypted, Some(&right)));
        self.expect_ok(&format!("{command} --key encrypted, right password"), &run);
        // The right password from the environment works as well.
        let run = process::run(
            Command::new(congvan_bin())
                .args(make_args(&encrypted, None))
                .env("CONGVAN_KEY_PASSWORD", "right"),
        );
        self.expect_ok(
            &format!("{command} --key encrypted, CONGVAN_KEY_PASSWORD"),
            &run,
        );
        // A password file that cannot be read is named too.
        for kind in [Garbage::Missing, Garbage::Directory] {
            let bad = self.garbage(kind, Input::Key);
            let run = congvan(make_args(&encrypted, Some(&bad)));
            self.expect_input_error(&format!("{command} --password-file {kind:?}"), &run, &bad);
        }
        let good = self.leaf().with_file_name("key.pem");
        self.expect_ok(
            &format!("{command} --key good"),
            &congvan(make_args(&good, None)),
        );
    }

    /// Runs `make_args(ISSUER_DIR, PASSWORD_FILE)` with issuer directories
    /// copied from `source` and spoiled in every way, then with an encrypted
    /// key.pem and with a good copy.
    fn check_issuer_input(
        &self,
        command: &str,
        source: &Path,
        make_args: &dyn Fn(&Path, Option<&Path>) -> Vec<String>,
    ) {
        let missing = self.fresh("no-such-issuer");
        let run = congvan(make_args(&missing, None));
        self.expect_input_error(&format!("{command} --issuer missing dir"), &run, &missing);
        let file = self.garbage(Garbage::Empty, Input::Cert);
        let run = congvan(make_args(&file, None));
        self.expect_input_error(&format!("{command} --issuer is a file"), &run, &file);

        for kind in ALL_GARBAGE {
            let dir = self.copy_credential(source);
            let bad = self.spoil(&dir, "cert.pem", kind, Input::Cert);
            let run = congvan(make_args(&dir, None));
            self.expect_input_error(
                &format!("{command} --issuer with cert.pem {kind:?}"),
                &run,
                &bad,
            );

            let dir = self.copy_credential(source);
            let bad = self.spoil(&dir, "key.pem", kind, Input::Key);
            let run = congvan(make_args(&dir, None));
            self.expect_input_error(
                &format!("{command} --issuer with key.pem {kind:?}"),
                &run,
                &bad,
            );

            // chain.pem may be empty or absent (a root's is); the rest is garbage.
            if !matches!(kind, Garbage::Missing | Garbage::Empty) {
                let dir = self.copy_credential(source);
                let bad = self.spoil(&dir, "chain.pem", kind, Input::Cert);
                let run = congvan(make_args(&dir, None));
                self.expect_input_error(
                    &format!("{command} --issuer with chain.pem {kind:?}"),
                    &run,
                    &bad,
                );
            }
        }

        // Another credential's key next to this certificate.
        let dir = self.copy_credential(source);
        std::fs::copy(self.leaf().with_file_name("key.pem"), dir.join("key.pem")).unwrap();
        let run = congvan(make_args(&dir, None));
        self.expect_input_error(
            &format!("{command} --issuer with a mismatched key"),
            &run,
            &dir.join("key.pem"),
        );

        // An encrypted key.pem: no password, a wrong one, the right one.
        let dir = self.copy_credential(source);
        let encrypted = self.encrypt_key(&source.join("key.pem"));
        std::fs::rename(&encrypted, dir.join("key.pem")).unwrap();
        let key = dir.join("key.pem");
        let run = congvan(make_args(&dir, None));
        self.expect_input_error(
            &format!("{command} --issuer with encrypted key, no password"),
            &run,
            &key,
        );
        let wrong = self.password_file("wrong");
        let run = congvan(make_args(&dir, Some(&wrong)));
        self.expect_input_error(
            &format!("{command} --issuer with encrypted key, wrong password"),
            &run,
            &key,
        );
        let right = self.password_file("right");
        let run = congvan(make_args(&dir, Some(&right)));
        self.expect_ok(
            &format!("{command} --issuer with encrypted key, right password"),
            &run,
        );

        let good = self.copy_credential(source);
        self.expect_ok(
            &format!("{command} --issuer good"),
            &congvan(make_args(&good, None)),
        );
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn with_password(mut args: Vec<String>, password: Option<&Path>) -> Vec<String> {
    if let Some(file) = password {
        args.extend(["--password-file".to_string(), s(file).to_string()]);
    }
    args
}

/// `words`, then `--key KEY` and `--password-file FILE` when given.
fn command(words: &[&str], key: Option<&Path>, password: Option<&Path>) -> Vec<String> {
    let mut args = strings(words);
    if let Some(key) = key {
        args.extend(["--key".to_string(), s(key).to_string()]);
    }
    with_password(args, password)
}

/// `pki init-root` of a fresh root made with `key`.
fn init_root_with(fx: &Fixture, key: &Path, password: Option<&Path>) -> Vec<String> {
    let out = fx.fresh("root");
    let words = ["pki", "init-root", "--name", "Root", "--out", s(&out)];
    command(&words, Some(key), password)
}

#[test]
fn init_root_key_garbage_exits_2_naming_the_key_file() {
    let fx = Fixture::new();
    fx.check_key_input("init-root", &|key, password| {
        init_root_with(&fx, key, password)
    });
    fx.finish();
}

#[test]
fn issue_ca_issuer_dir_and_key_garbage_exit_2_naming_the_file() {
    let fx = Fixture::new();
    let args = |issuer: &Path, key: Option<&Path>, password: Option<&Path>| {
        let out = fx.fresh("ca-h98");
        let words = [
            "pki",
            "issue-ca",
            "--issuer",
            s(issuer),
            "--name",
            "CA",
            "--org",
            "H98",
        ];
        command(&[&words[..], &["--out", s(&out)]].concat(), key, password)
    };
    let root = fx.root();
    fx.check_issuer_input("issue-ca", &root, &|issuer, password| {
        args(issuer, None, password)
    });
    fx.check_key_input("issue-ca", &|key, password| {
        args(&root, Some(key), password)
    });
    fx.finish();
}

#[test]
fn issue_issuer_dir_and_key_garbage_exit_2_naming_the_file() {
    let fx = Fixture::new();
    let args = |issuer: &Path, key: Option<&Path>, password: Option<&Path>| {
        let out = fx.fresh("office");
        let words = ["pki", "issue", "--issuer", s(issuer), "--role", "office"];
        let who = [
            "--name",
            "Văn phòng",
            "--org",
            "H99.01.01",
            "--out",
            s(&out),
        ];
        command(&[&words[..], &who[..]].concat(), key, password)
    };
    let ca = fx.ca();
    fx.check_issuer_input("issue", &ca, &|issuer, password| {
        args(issuer, None, password)
    });
    fx.check_key_input("issue", &|key, password| args(&ca, Some(key), password));
    fx.finish();
}

#[test]
fn revoke_issuer_dir_and_cert_garbage_exit_2_naming_the_file() {
    let fx = Fixture::new();
    let leaf = fx.leaf();
    fx.check_issuer_input("revoke", &fx.ca(), &|issuer, password| {
        with_password(
            strings(&["pki", "revoke", "--issuer", s(issuer), "--cert", s(&leaf)]),
            password,
        )
    });
    for kind in ALL_GARBAGE {
        let issuer = fx.copy_credential(&fx.ca());
        let cert = fx.garbage(kind, Input::Cert);
        let run = congvan(["pki", "revoke", "--issuer", s(&issuer), "--cert", s(&cert)]);
        fx.expect_input_error(&format!("revoke --cert {kind:?}"), &run, &cert);
        assert!(
            !issuer.join("revoked.json").exists(),
            "revoke recorded garbage\n{run}"
        );
    }
    fx.finish();
}

#[test]
fn crl_issuer_dir_and_revoked_json_garbage_exit_2_naming_the_file() {
    let fx = Fixture::new();
    fx.check_issuer_input("crl", &fx.ca(), &|issuer, password| {
        let out = fx.fresh("crl.pem");
        with_password(
            strings(&["pki", "crl", "--issuer", s(issuer), "--out", s(&out)]),
            password,
        )
    });
    let entry = |serial: &str, at: &str| {
        format!(
            r#"{{"crl_number":1,"revoked":[{{"serial":"{serial}","subject":"CN=x","revoked_at":"{at}","reason":"keyCompromise"}}]}}"#
        )
    };
    let good = entry("4a0b", "2026-01-05T09:30:00Z");
    let records: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("random bytes", random_bytes(300, 3)),
        ("not JSON", b"revoked: everything\n".to_vec()),
        ("truncated JSON", good.as_bytes()[..good.len() / 2].to_vec()),
        (
            "wrong structure",
            br#"{"crl_number":"one","revoked":5}"#.to_vec(),
        ),
        (
            "unknown reason",
            entry("4a0b", "2026-01-05T09:30:00Z")
                .replace("keyCompromise", "boredom")
                .into_bytes(),
        ),
        (
            "bad serial",
            entry("zz", "2026-01-05T09:30:00Z").into_bytes(),
        ),
        (
            "empty serial",
            entry("", "2026-01-05T09:30:00Z").into_bytes(),
        ),
        ("bad time", entry("4a0b", "yesterday").into_bytes()),
    ];
    for (what, bytes) in records {
        let issuer = fx.copy_credential(&fx.ca());
        let record = issuer.join("revoked.json");
        std::fs::write(&record, bytes).unwrap();
        let out = fx.fresh("crl.pem");
        let run = congvan(["pki", "crl", "--issuer", s(&issuer), "--out", s(&out)]);
        fx.expect_input_error(&format!("crl with revoked.json {what}"), &run, &record);
    }
    let issuer = fx.copy_credential(&fx.ca());
    std::fs::create_dir(issuer.join("revoked.json")).unwrap();
    let out = fx.fresh("crl.pem");
    let run = congvan(["pki", "crl", "--issuer", s(&issuer), "--out", s(&out)]);
    fx.expect_input_error(
        "crl with revoked.json a directory",
        &run,
        &issuer.join("revoked.json"),
    );
    // A well-formed record is fine.
    let issuer = fx.copy_credential(&fx.ca());
    std::fs::write(issuer.join("revoked.json"), good).unwrap();
    let out = fx.fresh("crl.pem");
    fx.expect_ok(
        "crl with a good revoked.json",
        &congvan(["pki", "crl", "--issuer", s(&issuer), "--out", s(&out)]),
    );
    fx.finish();
}

#[test]
fn verify_cert_trust_chain_crl_and_cert_garbage_exit_2_naming_the_file() {
    let fx = Fixture::new();
    let root = fx.root().join("cert.pem");
    let ca = fx.ca().join("cert.pem");
    let leaf = fx.leaf();
    let crl = fx.crl.clone();
    let args = |trust: &Path, chain: &Path, crl: &Path, cert: &Path| {
        strings(&[
            "pki",
            "verify-cert",
            "--trust",
            s(trust),
            "--chain",
            s(chain),
            "--crl",
            s(crl),
            s(cert),
        ])
    };
    fx.expect_ok("verify-cert good", &congvan(args(&root, &ca, &crl, &leaf)));
    for kind in ALL_GARBAGE {
        let bad = fx.garbage(kind, Input::Cert);
        let run = congvan(args(&bad, &ca, &crl, &leaf));
        fx.expect_input_error(&format!("verify-cert --trust {kind:?}"), &run, &bad);
        let run = congvan(args(&root, &bad, &crl, &leaf));
        fx.expect_input_error(&format!("verify-cert --chain {kind:?}"), &run, &bad);
        let run = congvan(args(&root, &ca, &crl, &bad));
        fx.expect_input_error(&format!("verify-cert CERT {kind:?}"), &run, &bad);
        let bad = fx.garbage(kind, Input::Crl);
        let run = congvan(args(&root, &ca, &bad, &leaf));
        fx.expect_input_error(&format!("verify-cert --crl {kind:?}"), &run, &bad);
    }
    fx.finish();
}

#[test]
fn verify_cert_at_not_a_time_exits_2() {
    let fx = Fixture::new();
    let run = congvan([
        "pki",
        "verify-cert",
        "--trust",
        s(&fx.root().join("cert.pem")),
        "--chain",
        s(&fx.ca().join("cert.pem")),
        "--at",
        "not-a-time",
        s(&fx.leaf()),
    ]);
    run.assert_code(2);
    assert!(
        run.stderr.starts_with("congvan: ") && run.stderr.contains("not-a-time"),
        "{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn openssl_rsa2048_rsa3072_and_p256_keys_import_for_init_root_and_issue() {
    let fx = Fixture::new();
    let keys = [
        (
            "rsa2048",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "rsa3072",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        ),
        (
            "p256",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
    ];
    let demo_root = fx.root().join("cert.pem");
    let demo_ca = fx.ca().join("cert.pem");
    for (name, genpkey) in keys {
        let key = fx.dir().join(format!("{name}.pem"));
        let mut args = vec!["genpkey"];
        args.extend(genpkey);
        args.extend(["-out", s(&key)]);
        openssl(fx.dir(), args);
        let public_key = openssl(fx.dir(), ["pkey", "-in", s(&key), "-pubout"]).stdout;

        // A root with the imported key, a CA under it, each checked by OpenSSL.
        let root = fx.dir().join(format!("root-{name}"));
        congvan([
            "pki",
            "init-root",
            "--name",
            &format!("Root {name}"),
            "--out",
            s(&root),
            "--key",
            s(&key),
        ])
        .assert_ok();
        let root_cert = root.join("cert.pem");
        let cert_key = openssl(
            fx.dir(),
            ["x509", "-in", s(&root_cert), "-noout", "-pubkey"],
        )
        .stdout;
        assert_eq!(
            cert_key, public_key,
            "{name}: the root does not certify the imported key"
        );
        openssl(
            fx.dir(),
            ["verify", "-CAfile", s(&root_cert), s(&root_cert)],
        );
        let ca = fx.dir().join(format!("ca-{name}"));
        congvan([
            "pki",
            "issue-ca",
            "--issuer",
            s(&root),
            "--name",
            "CA",
            "--org",
            "H99",
            "--out",
            s(&ca),
        ])
        .assert_ok();
        openssl(
            fx.dir(),
            ["verify", "-CAfile", s(&root_cert), s(&ca.join("cert.pem"))],
        );

        // An office certificate for the imported key from the demo CA.
        let office = fx.dir().join(format!("office-{name}"));
        congvan([
            "pki",
            "issue",
            "--issuer",
            s(&fx.ca()),
            "--role",
            "office",
            "--name",
            "Văn phòng",
            "--org",
            "H99.01",
            "--key",
            s(&key),
            "--out",
            s(&office),
        ])
        .assert_ok();
        let office_cert = office.join("cert.pem");
        let cert_key = openssl(
            fx.dir(),
            ["x509", "-in", s(&office_cert), "-noout", "-pubkey"],
        )
        .stdout;
        assert_eq!(
            cert_key, public_key,
            "{name}: the office cert does not certify the imported key"
        );
        openssl(
            fx.dir(),
            [
                "verify",
                "-CAfile",
                s(&demo_root),
                "-untrusted",
                s(&demo_ca),
                s(&office_cert),
            ],
        );
        congvan([
            "pki",
            "verify-cert",
            "--trust",
            s(&demo_root),
            "--chain",
            s(&demo_ca),
            "--role",
            "office",
            s(&office_cert),
        ])
        .assert_ok();
    }
}

#[test]
fn openssl_der_keys_import_and_encrypted_der_needs_its_password() {
    let fx = Fixture::new();
    let pem = fx.leaf().with_file_name("key.pem");
    let plain = fx.fresh("key.der");
    let encrypted = fx.fresh("encrypted-key.der");
    openssl(
        fx.dir(),
        [
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            s(&pem),
            "-outform",
            "DER",
            "-out",
            s(&plain),
        ],
    );
    openssl(
        fx.dir(),
        [
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            s(&pem),
            "-passout",
            "pass:right",
            "-outform",
            "DER",
            "-out",
            s(&encrypted),
        ],
    );
    let init_root = |key: &Path, password: Option<&Path>| init_root_with(&fx, key, password);
    fx.expect_ok("init-root --key DER", &congvan(init_root(&plain, None)));
    let run = congvan(init_root(&encrypted, None));
    fx.expect_input_error(
        "init-root --key encrypted DER, no password",
        &run,
        &encrypted,
    );
    assert!(run.stderr.contains("encrypted"), "{run}");
    let wrong = fx.password_file("wrong");
    let run = congvan(init_root(&encrypted, Some(&wrong)));
    fx.expect_input_error(
        "init-root --key encrypted DER, wrong password",
        &run,
        &encrypted,
    );
    let right = fx.password_file("right");
    let run = congvan(init_root(&encrypted, Some(&right)));
    fx.expect_ok("init-root --key encrypted DER, right password", &run);
    fx.finish();
}
