//! A small PKI for the timestamp stories: a national root, a provincial CA,
//! a timestamp authority under it, and the files openssl reads.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use congvan_sign::Algorithm;
use congvan_sign::{
    init_root, issue_ca, issue_leaf, Certificate, Credential, LeafRequest, OrgId, Role, SigningKey,
    TrustStore,
};

/// The PKI and where its files are.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub root: Credential,
    pub province: Credential,
    pub tsa: Credential,
}

impl Pki {
    /// Root, provincial CA (H99) and a TSA certified by the root itself
    /// (a timestamp authority is certified by a trust anchor).
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let root = init_root("Root CA (test)", key(), 3650).unwrap();
        let province = issue_ca(&root, "CA H99 (test)", &org("H99"), key(), 3650).unwrap();
        let tsa = leaf(&root, Role::Tsa, "TSA H99 (test)");
        root.write(&dir.path().join("root")).unwrap();
        tsa.write(&dir.path().join("tsa")).unwrap();
        let pki = Pki {
            dir,
            root,
            province,
            tsa,
        };
        // The TSA's certificate: openssl's -untrusted.
        std::fs::write(pki.path("untrusted.pem"), pki.tsa.cert().to_pem()).unwrap();
        pki
    }

    /// The TSA's credential, read back from its files (a credential is not
    /// copied in memory: its key is loaded where it is used).
    pub fn tsa_credential(&self) -> Credential {
        Credential::load(&self.path("tsa"), None).unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A leaf of `role` for the province's office H99.01.
    pub fn leaf(&self, role: Role, name: &str) -> Credential {
        leaf(&self.province, role, name)
    }

    /// A store trusting this root.
    pub fn trust(&self) -> TrustStore {
        TrustStore::new(vec![self.root.cert().clone()]).unwrap()
    }
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::EcdsaP256).unwrap()
}

fn org(code: &str) -> OrgId {
    OrgId::parse(code).unwrap()
}

fn leaf(issuer: &Credential, role: Role, name: &str) -> Credential {
    let request = LeafRequest {
        role,
        name: name.into(),
        org: org("H99.01"),
        organization_name: None,
        position: (role == Role::Official).then(|| "Chủ tịch".to_string()),
        dns: Vec::new(),
        ips: Vec::new(),
        days: 365,
    };
    issue_leaf(issuer, &request, key()).unwrap()
}

/// Runs openssl with `args` in `dir`; returns (success, stdout + stderr).
pub fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed by scripts/install-test-deps.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every certificate of a PEM file.
pub fn certificates(path: &Path) -> Vec<Certificate> {
    Certificate::load_all(path).unwrap()
}
