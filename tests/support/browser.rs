//! Debian's headless Chromium, driven over WebDriver by fantoccini, for the
//! web workplace stories: chromedriver on a free loopback port, a fresh
//! profile, nothing fetched from the network, screenshots kept under
//! `target/web-screenshots/`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use super::process::repo;

/// A chromedriver process and a browser session on it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    count: usize,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium.
    pub async fn start(story: &str) -> Browser {
        for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: run scripts/install-test-deps.sh"
            );
        }
        let port = super::relays::free_addr().port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = super::process::tempdir();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=vi",
                    "--window-size=1100,1400",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("cannot open a Chromium session");
        let shots = repo().join("target/web-screenshots").join(story);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            client,
            driver,
            _profile: profile,
            shots,
            count: 0,
        }
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Types `text` into the field named `name`.
    pub async fn fill(&self, name: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Chooses `value` in the select named `name`.
    pub async fn choose(&self, name: &str, value: &str) {
        let select = self
            .client
            .find(Locator::Css(&format!("select[name='{name}']")))
            .await
            .unwrap();
        select.select_by_value(value).await.unwrap();
    }

    /// Clicks what the CSS selector finds first.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks the button whose text is `text` and waits for the page its
    /// form leads to.
    pub async fn press(&self, text: &str) {
        let xpath = format!("//button[normalize-space(.)='{text}']");
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_navigated(old).await;
    }

    /// Follows the link the CSS selector finds, waiting for the new page.
    pub async fn follow(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        self.click(css).await;
        self.wait_navigated(old).await;
    }

    /// Waits until the page `old` belonged to is gone and the next one is loaded.
    async fn wait_navigated(&self, old: fantoccini::elements::Element) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while old.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "the page did not change within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        loop {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await;
            if state.is_ok_and(|v| v == "complete") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not finish loading within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// The page's HTML.
    pub async fn html(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The current path.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Saves a screenshot as `NN-name.png`.
    pub async fn shot(&mut self, name: &str) -> PathBuf {
        self.count += 1;
        let path = self.shots.join(format!("{:02}-{name}.png", self.count));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path
    }

    /// Reloads `url` until its text contains `needle`.
    pub async fn wait_for(&self, url: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.open(url).await;
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{url} never showed {needle:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Logs in at `web` with the login form.
    pub async fn login(&self, web: &str, login: &str, password: &str) {
        self.open(&format!("{web}/login")).await;
        self.fill("login", login).await;
        self.fill("password", password).await;
        self.press("Đăng nhập").await;
    }

    /// Logs out with the menu's button and waits for the login page, so the
    /// next login does not race the logout's redirect.
    pub async fn logout(&self) {
        self.press("Đăng xuất").await;
        assert_eq!(self.path().await, "/login");
    }

    /// Ends the session and the browser.
    pub async fn close(mut self) {
        self.client.clone().close().await.unwrap();
        if let Err(e) = self
            .driver
            .kill()
            .and_then(|()| self.driver.wait().map(drop))
        {
            eprintln!("cannot stop chromedriver: {e}");
        }
    }
}
