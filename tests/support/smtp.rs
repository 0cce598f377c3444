//! A real SMTP server for the mail stories: Python's aiosmtpd on 127.0.0.1
//! (installed by `scripts/install-test-deps.sh`), keeping what it receives
//! in a Maildir that the tests read back.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// aiosmtpd on a free port, storing what it receives in a Maildir; killed on drop.
pub struct SmtpServer {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Where it keeps what it received.
    pub maildir: PathBuf,
}

impl SmtpServer {
    /// Starts aiosmtpd on 127.0.0.1:`port`, with its Maildir under `dir`,
    /// and waits until it accepts connections.
    pub fn start(dir: &Path, port: u16) -> SmtpServer {
        // aiosmtpd creates the Maildir (with its tmp/new/cur folders) itself.
        let maildir = dir.join("maildir");
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (run scripts/install-test-deps.sh)");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    /// Every message received so far, parsed by `scripts/read_mail.py`.
    pub fn messages(&self) -> Vec<Value> {
        read_mail(&self.maildir)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("could not stop aiosmtpd: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("could not reap aiosmtpd: {e}");
        }
    }
}

/// The messages in a Maildir: headers decoded, body as text.
pub fn read_mail(maildir: &Path) -> Vec<Value> {
    if !maildir.join("new").exists() {
        return Vec::new();
    }
    let script = super::relays::repo().join("tests/scripts/read_mail.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(maildir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
