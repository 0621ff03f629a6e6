//! A real hub process and a TCP proxy that can cut connections, for the sync tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::bin;

pub const PASSWORD: &str = "office-password-1";

/// A `caiji-hub` data directory and, while running, its `serve` process.
pub struct Hub {
    pub tmp: tempfile::TempDir,
    child: Option<Child>,
    pub port: u16,
}

impl Hub {
    /// `caiji-hub init` (year 2025) with departments jsjx 计算机系 and jwc 教务处.
    pub fn new() -> Hub {
        let tmp = tempfile::tempdir().expect("temp dir");
        let hub = Hub { tmp, child: None, port: 0 };
        hub.ok(&["init", "--school", "测试职业学院", "--year", "2025", "--admin", "admin", "--password", PASSWORD]);
        hub.ok(&["department", "add", "jsjx", "计算机系"]);
        hub.ok(&["department", "add", "jwc", "教务处", "--kind", "office"]);
        hub
    }

    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("hub")
    }

    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out =
            Command::new(bin("caiji-hub")).arg("--data").arg(self.data()).args(args).output().expect("run caiji-hub");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "caiji-hub {args:?} failed:\n{out}\n{err}");
        out
    }

    /// Starts `serve` on a free loopback port and waits until it listens.
    pub fn start(&mut self) {
        let mut child = Command::new(bin("caiji-hub"))
            .arg("--data")
            .arg(self.data())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hub");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("https://127.0.0.1:").nth(1) {
                    let port: String = addr.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap_or(0));
                }
            }
        });
        self.port = rx.recv_timeout(Duration::from_secs(30)).expect("hub starts");
        self.child = Some(child);
    }

    /// SIGKILL, as a power cut would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// A one-time enrollment code for `department`.
    pub fn code(&self, department: &str, extra: &[&str]) -> String {
        let mut args = vec!["enroll-code", "--department", department];
        args.extend_from_slice(extra);
        let out = self.ok(&args);
        out.split("的注册码：").nth(1).and_then(|l| l.lines().next()).expect("code in output").trim().to_string()
    }

    pub fn fingerprint(&self) -> String {
        self.ok(&["fingerprint"]).trim().to_string()
    }

    /// The live rows of a department's sheet on the hub.
    pub fn rows(&self, table: &str, department: &str) -> Vec<serde_json::Value> {
        let out = self.ok(&["sheet", table, "--department", department, "--json"]);
        serde_json::from_str(&out).expect("sheet --json")
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy on loopback that forwards to an upstream port, and can cut every connection.
pub struct Proxy {
    pub port: u16,
    upstream: Arc<AtomicU16>,
    blocked: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn new(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let p = Proxy {
            port,
            upstream: Arc::new(AtomicU16::new(upstream)),
            blocked: Arc::new(AtomicBool::new(false)),
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        let (up, blocked, conns) = (p.upstream.clone(), p.blocked.clone(), p.conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if blocked.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", up.load(Ordering::SeqCst))) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                {
                    let mut c = conns.lock().unwrap();
                    c.push(client.try_clone().unwrap());
                    c.push(server.try_clone().unwrap());
                }
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        p
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Drops every open connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.blocked.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.blocked.store(false, Ordering::SeqCst);
    }

    pub fn retarget(&self, upstream: u16) {
        self.upstream.store(upstream, Ordering::SeqCst);
    }
}
