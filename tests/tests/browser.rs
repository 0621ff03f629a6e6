//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`, which the
//! README's test command installs) with fantoccini, behind a small blocking API so the tests
//! read like what a person does: go to a page, fill a field, click, read what it says.
//!
//! Each [`Browser`] runs its own `chromedriver` on a free port with a fresh profile, in a
//! 1366×768 window (the common office screen), trusting the hub's self-signed certificate and
//! answering confirmation dialogs with yes.
//! Screenshots go to `$CAIJI_SCREENSHOTS`, or `caiji-screenshots` in the system temp directory:
//! outside the repository, for anyone to look at what a user sees.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a step waits for its element or text.
const WAIT: Duration = Duration::from_secs(15);

pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Where screenshots go (created on first use).
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("CAIJI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("caiji-screenshots"));
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn find_program(names: &[&str]) -> String {
    for n in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
            let p = Path::new(dir).join(n);
            if p.exists() {
                return p.display().to_string();
            }
        }
    }
    panic!("{names:?} not found: run `bash tests/run.sh`, which installs Debian's chromium and chromium-driver")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Browser {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let port = free_port();
        let driver = Command::new(find_program(&["chromedriver"]))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let downloads = profile.path().join("downloads");
        let mut caps = serde_json::Map::new();
        caps.insert("acceptInsecureCerts".into(), json!(true));
        // A form's "are you sure?" (`data-confirm`) is answered yes, as the person would.
        caps.insert("unhandledPromptBehavior".into(), json!("accept"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": find_program(&["chromium", "chromium-browser"]),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--no-first-run", "--no-default-browser-check",
                    "--window-size=1366,768", "--lang=zh-CN", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let attempt = rt.block_on(async {
                let mut b = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
                b.capabilities(caps.clone());
                b.connect(&url).await
            });
            match attempt {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("cannot start a Chromium session through chromedriver: {e}"),
            }
        };
        Browser { rt, client: Some(client), driver, _profile: profile }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("browser is open")
    }

    pub fn goto(&self, url: &str) {
        self.rt.block_on(self.c().goto(url)).unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub fn url(&self) -> String {
        self.rt.block_on(self.c().current_url()).expect("current url").to_string()
    }

    pub fn source(&self) -> String {
        self.rt.block_on(self.c().source()).expect("page source")
    }

    /// The page's visible text (for failure messages).
    fn visible_text(&self) -> String {
        self.execute("return document.body ? document.body.innerText : ''").as_str().unwrap_or("").to_string()
    }

    fn wait_find(&self, css: &str) -> fantoccini::elements::Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.rt.block_on(self.c().find(Locator::Css(css))) {
                return e;
            }
            if started.elapsed() > WAIT {
                panic!("no element `{css}` on {} after {WAIT:?}; the page says:\n{}", self.url(), self.visible_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether an element is on the page now (no waiting).
    pub fn exists(&self, css: &str) -> bool {
        self.rt.block_on(self.c().find(Locator::Css(css))).is_ok()
    }

    /// How many elements match now.
    pub fn count(&self, css: &str) -> usize {
        self.rt.block_on(self.c().find_all(Locator::Css(css))).map(|v| v.len()).unwrap_or(0)
    }

    pub fn click(&self, css: &str) {
        let e = self.wait_find(css);
        self.rt.block_on(e.click()).unwrap_or_else(|err| panic!("click `{css}`: {err}"));
    }

    /// Clears a field and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) {
        let e = self.wait_find(css);
        self.rt.block_on(e.clear()).unwrap_or_else(|err| panic!("clear `{css}`: {err}"));
        self.rt.block_on(e.send_keys(text)).unwrap_or_else(|err| panic!("type into `{css}`: {err}"));
    }

    /// Sends raw keys (WebDriver key codes, e.g. "\u{E007}" Enter, "\u{E004}" Tab) to an element.
    pub fn send_keys(&self, css: &str, keys: &str) {
        let e = self.wait_find(css);
        self.rt.block_on(e.send_keys(keys)).unwrap_or_else(|err| panic!("keys to `{css}`: {err}"));
    }

    /// Chooses an option of a `<select>` by its value.
    pub fn select(&self, css: &str, value: &str) {
        let e = self.wait_find(css);
        self.rt.block_on(e.select_by_value(value)).unwrap_or_else(|err| panic!("select {value} in `{css}`: {err}"));
    }

    /// An element's text (waits for the element).
    pub fn text(&self, css: &str) -> String {
        let e = self.wait_find(css);
        self.rt.block_on(e.text()).unwrap_or_else(|err| panic!("text of `{css}`: {err}"))
    }

    /// An element's attribute or property value (e.g. an input's `value`).
    pub fn value(&self, css: &str) -> String {
        let e = self.wait_find(css);
        self.rt.block_on(e.prop("value")).ok().flatten().unwrap_or_default()
    }

    /// Waits until the element's text contains `needle`.
    pub fn wait_text(&self, css: &str, needle: &str) {
        let started = Instant::now();
        loop {
            let found = self.rt.block_on(async {
                let e = self.c().find(Locator::Css(css)).await.ok()?;
                e.text().await.ok()
            });
            if found.as_deref().is_some_and(|t| t.contains(needle)) {
                return;
            }
            if started.elapsed() > WAIT {
                panic!(
                    "`{css}` on {} never said 「{needle}」 (it says {:?}); the page says:\n{}",
                    self.url(),
                    found,
                    self.visible_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a script in the page (`return …` gives a value).
    pub fn execute(&self, js: &str) -> Value {
        self.rt.block_on(self.c().execute(js, vec![])).unwrap_or_else(|e| panic!("script failed: {e}\n{js}"))
    }

    /// Runs an async script: the last argument is the callback, e.g.
    /// `const done = arguments[0]; fetch(..).then(r => done(r.status));`
    pub fn execute_async(&self, js: &str) -> Value {
        self.rt.block_on(self.c().execute_async(js, vec![])).unwrap_or_else(|e| panic!("script failed: {e}\n{js}"))
    }

    /// Signs in at `base` (e.g. "https://127.0.0.1:1234") and waits to leave the sign-in page.
    pub fn login(&self, base: &str, user: &str, password: &str) {
        let base = base.trim_end_matches('/');
        self.goto(&format!("{base}/login"));
        self.fill("input[name=name]", user);
        self.fill("input[name=password]", password);
        self.click("form[action='/login'] button[type=submit]");
        let started = Instant::now();
        while self.url().contains("/login") {
            if started.elapsed() > WAIT {
                panic!("sign-in as {user} at {base} failed; the page says:\n{}", self.visible_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Chooses a file in a file input.
    pub fn upload(&self, css: &str, path: &Path) {
        let e = self.wait_find(css);
        let p = path.canonicalize().expect("file to upload");
        self.rt.block_on(e.send_keys(&p.display().to_string())).unwrap_or_else(|err| panic!("upload: {err}"));
    }

    /// Saves what the window shows as `<screenshot dir>/<name>.png`.
    /// Prints the page as the browser would on A4 paper, saves the PDF beside the screenshots
    /// and returns its text (by Poppler's `pdftotext`, which the test command installs).
    pub fn print(&self, name: &str) -> String {
        let config = fantoccini::wd::PrintConfiguration::builder()
            .orientation(fantoccini::wd::PrintOrientation::Landscape)
            .build()
            .expect("print settings");
        let pdf = self.rt.block_on(self.c().print(config)).expect("print");
        assert!(pdf.starts_with(b"%PDF"), "not a PDF");
        let path = screenshot_dir().join(format!("{name}.pdf"));
        std::fs::write(&path, &pdf).expect("write the PDF");
        let out = Command::new(find_program(&["pdftotext"]))
            .args(["-layout", "-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("run pdftotext");
        assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8 text")
    }

    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.rt.block_on(self.c().screenshot()).expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() && self.client.is_some() {
            // Keep the evidence: what the page looked like when the test failed.
            if let Ok(png) = self.rt.block_on(self.c().screenshot()) {
                let name = format!("failed-{}.png", std::process::id());
                let _ = std::fs::write(screenshot_dir().join(name), png);
            }
        }
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), c.close()).await });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The harness itself: a page served by a tiny local server, filled, clicked and captured.
#[test]
fn harness_drives_a_real_chromium() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        for _ in 0..2 {
            let (mut s, _) = listener.accept().expect("accept");
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = if req.starts_with("GET /favicon") {
                String::new()
            } else {
                "<html lang=zh-CN><body><input id=x><p id=out>你好</p></body></html>".to_string()
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let b = Browser::start();
    b.goto(&format!("http://127.0.0.1:{port}/"));
    b.wait_text("#out", "你好");
    b.fill("#x", "采集");
    assert_eq!(b.value("#x"), "采集");
    let size = b.execute("return [window.innerWidth, window.innerHeight]");
    assert_eq!(size[0], json!(1366), "window is 1366 wide: {size}");
    let shot = b.screenshot("harness");
    assert!(std::fs::metadata(&shot).expect("screenshot written").len() > 1000);
    drop(b);
    let _ = server.join();
}
