//! `caiji-hub demo` as a newcomer meets it: the printed addresses and accounts work in a real
//! browser, on the hub and on an agent.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::support::bin;

/// A running demo: its printed report, killed (SIGTERM, so it cleans up) on drop.
struct Demo {
    child: Child,
    report: String,
}

impl Demo {
    fn start() -> Demo {
        let mut child = Command::new(bin("caiji-hub"))
            .args(["demo", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut report = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                report.push_str(&line);
                report.push('\n');
                if line.contains("Ctrl-C") {
                    let _ = tx.send(report.clone());
                }
            }
        });
        let report = rx.recv_timeout(Duration::from_secs(120)).expect("the demo prints its report");
        Demo { child, report }
    }

    /// The address printed after `label` on the first line that has it.
    fn url_after(&self, label: &str) -> String {
        let line =
            self.report.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no {label}:\n{}", self.report));
        let start = line.find("http").unwrap_or_else(|| panic!("no address in {line}"));
        line[start..].split_whitespace().next().unwrap().trim_end_matches('/').to_string()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_demo_prints_working_addresses_and_accounts_for_hub_and_agents() {
    let demo = Demo::start();
    let hub = demo.url_after("中心端网页");
    assert!(hub.starts_with("https://127.0.0.1:"), "{}", demo.report);
    assert_eq!(demo.report.matches("网页：http://127.0.0.1:").count(), 3, "three agents' screens:\n{}", demo.report);
    for account in ["admin / caiji-demo-2025", "审核员 / caiji-demo-2025", "院长办公会 / caiji-demo-2025", "演示采集员"]
    {
        assert!(demo.report.contains(account), "{account} missing:\n{}", demo.report);
    }

    let b = Browser::start();
    b.login(&hub, "审核员", "caiji-demo-2025");
    b.wait_text("main", "进度看板");
    b.screenshot("demo-hub-board");

    let agent = demo.url_after("网页：http://");
    b.login(&agent, "演示采集员", "caiji-demo");
    b.wait_text("main", "我的报表");
    b.screenshot("demo-agent-tables");
}
