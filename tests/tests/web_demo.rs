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

impl Demo {
    /// The web address printed for the agent of `department` (its block names the code).
    fn agent_url(&self, department: &str) -> String {
        let block = self
            .report
            .split("\n采集端 ")
            .find(|b| b.contains(&format!("（{department}）")))
            .unwrap_or_else(|| panic!("no agent {department}:\n{}", self.report));
        let line = block.lines().find(|l| l.contains("网页：http://")).expect("agent web line");
        let start = line.find("http").expect("address");
        line[start..].trim().trim_end_matches('/').to_string()
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

    // The office sees the sample states on the board.
    let b = Browser::start();
    b.goto(&format!("{hub}/login"));
    b.wait_text("main", "登录中心端");
    b.screenshot("hub-login");
    b.login(&hub, "审核员", "caiji-demo-2025");
    b.wait_text("main", "进度看板");
    b.wait_text("#cell-A6-1-1-jsjx", "已报送");
    b.wait_text("#cell-A7-2-jwc", "已通过");
    b.wait_text("#cell-A1-6-zzrsb", "已退回");
    b.screenshot("demo-hub-board");

    // 组织人事部 answers the return: the collector deals with the comment and submits, the
    // head approves and submits, and background sync brings it to the hub.
    let agent = demo.agent_url("zzrsb");
    b.goto(&format!("{agent}/login"));
    b.wait_text("main", "登录采集端");
    b.screenshot("agent-login");
    b.login(&agent, "演示采集员", "caiji-demo");
    b.wait_text("#tables tr[data-table='A1-6']", "已退回");
    b.screenshot("demo-agent-tables");
    b.click("#tables tr[data-table='A1-6'] a");
    b.wait_text("#comments", "请补充各机构的兼职人数");
    b.click("#comments form.resolve button");
    b.wait_text(".flash.ok", "批注已标记为已处理");
    b.click("#submit-form button");
    b.wait_text(".flash.ok", "部门审核中");
    b.click("form.logout button");
    b.login(&agent, "演示负责人", "caiji-demo");
    b.goto(&format!("{agent}/tables/A1-6"));
    b.click("#approve-form button");
    b.wait_text(".flash.ok", "已报送");

    // Back on the hub, the board shows the resubmission (it refreshes itself after the sync).
    b.goto(&format!("{hub}/"));
    if b.url().contains("/login") {
        b.login(&hub, "审核员", "caiji-demo-2025");
    }
    b.wait_text("#cell-A1-6-zzrsb", "已报送");
}
