//! The web workplace for the stories: the demo network served by a real
//! `congvan demo --serve` process, its logins from `demo.json`, and a small
//! HTTP/1.1 client with a cookie jar that fills forms as a browser would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::process::{congvan_bin, tempdir};

/// A running `congvan demo --serve`, stopped (SIGTERM) when dropped.
pub struct DemoServe {
    pub dir: tempfile::TempDir,
    child: Child,
    pub demo: serde_json::Value,
}

impl DemoServe {
    /// Starts the demo network with its workplaces and waits for demo.json.
    pub fn start() -> DemoServe {
        let dir = tempdir();
        let work = dir.path().join("demo");
        let child = Command::new(congvan_bin())
            .args(["demo", "--serve", "--dir"])
            .arg(&work)
            .env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .spawn()
            .expect("cannot start congvan demo --serve");
        let json = work.join("demo.json");
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut serve = DemoServe {
            dir,
            child,
            demo: serde_json::Value::Null,
        };
        while !json.exists() {
            if let Some(status) = serve.child.try_wait().unwrap() {
                panic!("demo --serve exited with {status}:\n{}", serve.logs());
            }
            assert!(
                Instant::now() < deadline,
                "no demo.json after 90 s:\n{}",
                serve.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Written whole (create_new, one write); read until it parses.
        loop {
            if let Ok(v) = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()) {
                serve.demo = v;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }

    /// The relay entry of `org` in demo.json.
    pub fn relay(&self, org: &str) -> &serde_json::Value {
        self.demo["relays"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["organization"] == org)
            .unwrap_or_else(|| panic!("no relay for {org} in demo.json"))
    }

    /// The web URL of `org`'s relay.
    pub fn web_url(&self, org: &str) -> String {
        self.relay(org)["web_url"].as_str().unwrap().to_string()
    }

    /// The demo account of `role` at `org`.
    pub fn account(&self, org: &str, role: &str) -> Account {
        let a = self.relay(org)["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["role"] == role)
            .unwrap()
            .clone();
        Account {
            login: a["login"].as_str().unwrap().to_string(),
            password: a["password"].as_str().unwrap().to_string(),
            pin: a["signing_pin"].as_str().map(str::to_string),
            web: self.web_url(org),
        }
    }

    /// Logs `role` of `org` in, over HTTP.
    pub fn login(&self, org: &str, role: &str) -> Http {
        let account = self.account(org, role);
        let mut http = Http::new(&account.web);
        http.login(&account.login, &account.password)
            .assert_status(303);
        http
    }

    /// What the process wrote (stdout: the demo's story; stderr: its logs).
    pub fn logs(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            read("stdout.log"),
            read("stderr.log")
        )
    }

    /// The logs only (stderr), where no secret may appear.
    pub fn log_lines(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The demo's working folder (the relays' data is under relays/).
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("demo")
    }
}

impl Drop for DemoServe {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        if let Err(e) = Command::new("kill").args(["-TERM", &pid]).status() {
            eprintln!("cannot send SIGTERM to the demo ({pid}): {e}");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Err(e) = self.child.kill().and_then(|()| self.child.wait().map(drop)) {
            eprintln!("cannot stop the demo ({pid}): {e}");
        }
    }
}

/// A demo login.
#[derive(Clone, Debug)]
pub struct Account {
    pub login: String,
    pub password: String,
    pub pin: Option<String>,
    pub web: String,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Resp {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body:\n{}",
            self.text()
        );
        self
    }

    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The first form's CSRF token on the page.
    pub fn csrf(&self) -> String {
        csrf_in(&self.text())
    }
}

/// The value of the first `name="csrf"` field in HTML.
pub fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("no csrf field on the page");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A person's browser, reduced to HTTP: a cookie jar and forms.
pub struct Http {
    pub base: String,
    host: String,
    pub cookies: BTreeMap<String, String>,
}

/// A multipart part: a field, or a file with its name.
pub enum Part<'a> {
    Field(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

impl Http {
    pub fn new(base: &str) -> Http {
        let host = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Http {
            base: base.to_string(),
            host,
            cookies: BTreeMap::new(),
        }
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, None, &[])
    }

    /// Posts a urlencoded form.
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        self.request(
            "POST",
            path,
            Some(body.join("&").into_bytes()),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
    }

    /// Posts a multipart form (files as a browser uploads them).
    pub fn post_multipart(&mut self, path: &str, parts: &[Part<'_>]) -> Resp {
        let boundary = "----congvanTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match part {
                Part::Field(name, value) => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                        )
                        .as_bytes(),
                    );
                }
                Part::File(name, file_name, bytes) => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(bytes);
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.request("POST", path, Some(body), &[("Content-Type", &content_type)])
    }

    /// Opens the login page and logs in (answers 303 when right).
    pub fn login(&mut self, login: &str, password: &str) -> Resp {
        let page = self.get("/login");
        let csrf = page.csrf();
        self.post(
            "/login",
            &[("csrf", &csrf), ("login", login), ("password", password)],
        )
    }

    /// The CSRF token of the session, read from a page.
    pub fn csrf(&mut self) -> String {
        self.get("/search").csrf()
    }

    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut stream = TcpStream::connect(&self.host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let resp = parse_response(&raw);
        for cookie in resp.headers_named("set-cookie") {
            let first = cookie.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        resp
    }
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The dispatch id in a `/drafts/ID` or `/dispatches/ID` location.
pub fn id_in(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_string()
}

/// A small PDF to attach.
pub fn sample_attachment() -> Vec<u8> {
    b"%PDF-1.4\n% congvan test attachment\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec()
}
