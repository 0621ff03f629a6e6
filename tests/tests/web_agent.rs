//! The agent's web screens in a real browser: the grid's validation as one types, a returned
//! cell fixed and resubmitted through the department's review to the hub, import by upload and
//! export. Each test leaves a screenshot of the screen it exercises.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::net::Hub;
use crate::support::{Agent, teacher, teacher_workbook, with_user};

const PW: &str = "password-2025";
const ENTER: &str = "\u{E007}";

/// `caiji-agent serve --web 127.0.0.1:0` on an agent's data directory; killed on drop.
struct Web {
    child: Child,
    url: String,
}

impl Web {
    fn start(a: &Agent) -> Web {
        let mut child = a
            .command()
            .args(["serve", "--web", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start caiji-agent serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("采集端网页：http://") {
                    let url: String = line[at + "采集端网页：".len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
                        .collect();
                    let _ = tx.send(url);
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(20)).expect("serve printed its web address");
        Web { child, url: url.trim_end_matches('/').to_string() }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An agent with a collector and a head, and A6-1-1 imported from `teachers`.
fn agent_with(teachers: &[Vec<String>]) -> Agent {
    let a = Agent::new();
    a.ok(&["user-add", "张三", "--role", "collector", "--password", PW]);
    a.ok(&["user-add", "李主任", "--role", "dept-head", "--password", PW]);
    let file = a.path("teachers.xlsx");
    teacher_workbook(&file, teachers);
    a.ok(&["import", file.to_str().unwrap()]);
    a
}

/// The grid cell of `field` in row number `row`.
fn cell(row: usize, field: &str) -> String {
    format!("#grid tr[data-no='{row}'] td[data-field='{field}']")
}

/// Confirmation dialogs answer yes (the forms' `data-confirm`).
fn accept_confirms(b: &Browser) {
    b.execute("window.confirm = function () { return true; }; return true;");
}

#[test]
fn the_grid_checks_as_one_types_and_keeps_a_good_value() {
    let a = agent_with(&[teacher("T001", "王五", "198001"), teacher("T002", "李四", "198205")]);
    let web = Web::start(&a);
    let b = Browser::start();
    b.login(&web.url, "张三", PW);

    // 我的报表: the table with its state and size.
    b.wait_text("#tables tr[data-table='A6-1-1']", "填报中");
    assert!(b.text("#tables tr[data-table='A6-1-1']").contains("校内专任教师基本情况"));
    assert_eq!(b.text("#tables tr[data-table='A6-1-1'] td.num"), "2", "two rows");
    b.screenshot("agent-tables");

    // Typing starts editing; the validator's message appears as one types.
    b.goto(&web.at("/tables/A6-1-1"));
    b.click(&cell(1, "birth"));
    b.send_keys("#grid-keys", "198513");
    b.wait_text(&format!("{} span.msg", cell(1, "birth")), "不是有效的年月");
    b.wait_text("#cell-msg", "不是有效的年月");
    b.screenshot("agent-grid");
    // Esc cancels: the stored value is unchanged.
    b.send_keys("#grid input.cell-editor", "\u{E00C}");
    assert_eq!(b.text(&format!("{} span.v", cell(1, "birth"))), "198001");

    // A good value (in a spelling the validator normalises) saves and survives a reload.
    b.click(&cell(1, "birth"));
    b.send_keys("#grid-keys", "1985.11");
    b.send_keys("#grid input.cell-editor", ENTER);
    b.wait_text(&format!("{} span.v", cell(1, "birth")), "198511");
    // Enter moved down a row.
    assert!(b.exists(&format!("{}.current", cell(2, "birth"))), "Enter saves and moves down");
    b.goto(&web.at("/tables/A6-1-1"));
    assert_eq!(b.text(&format!("{} span.v", cell(1, "birth"))), "198511");
    assert!(!b.exists(&format!("{}.c-error", cell(1, "birth"))));

    // Each field's official explanation is on its header.
    let help = b.execute("return document.querySelector(\"#grid th[data-field='birth']\").title");
    assert!(help.as_str().unwrap_or("").contains("内涵/注释"), "{help}");

    // A bad value is kept as typed and flagged, never lost; the history shows who changed what.
    // F2 edits the value in place: two backspaces and "13" make 198205 an invalid 198213.
    b.click(&cell(2, "birth"));
    b.send_keys("#grid-keys", "\u{E032}");
    assert_eq!(b.value("#grid input.cell-editor"), "198205");
    b.send_keys("#grid input.cell-editor", "\u{E003}\u{E003}13");
    b.send_keys("#grid input.cell-editor", ENTER);
    b.wait_text(&format!("{} span.v", cell(2, "birth")), "198213");
    assert!(b.exists(&format!("{}.c-error", cell(2, "birth"))));
    b.goto(&web.at("/tables/A6-1-1"));
    b.click(&cell(1, "birth"));
    b.click("#cell-history");
    b.wait_text("#history", "198511");
    let history = b.text("#history");
    assert!(history.contains("张三") && history.contains("198001"), "{history}");
    b.screenshot("agent-history");

    // Clicking another cell saves the one being edited; typing goes on in the new one.
    b.goto(&web.at("/tables/A6-1-1"));
    b.click(&cell(1, "post"));
    b.send_keys("#grid-keys", "教研室主任");
    b.click(&cell(2, "post"));
    b.wait_text(&format!("{} span.v", cell(1, "post")), "教研室主任");
    b.send_keys("#grid-keys", "副主任\u{E007}");
    b.wait_text(&format!("{} span.v", cell(2, "post")), "副主任");

    // A new row is added at the end and focused; deleting it (softly) takes it away again.
    b.click("#add-row button");
    b.wait_text(".flash.ok", "新增第3行");
    assert!(b.exists("#grid tr[data-no='3'] td.current"), "the new row's first cell is current");
    b.send_keys("#grid-keys", "计算机系");
    b.send_keys("#grid input.cell-editor", "\u{E004}");
    b.wait_text("#grid tr[data-no='3'] td[data-field='dept'] span.v", "计算机系");
    assert!(b.exists("#grid tr[data-no='3'] td[data-field='emp_no'].current"), "Tab saves and moves right");
    b.send_keys("#grid-keys", "T003\u{E004}");
    b.wait_text("#grid tr[data-no='3'] td[data-field='emp_no'] span.v", "T003");
    assert!(b.exists("#grid tr[data-no='3'] td[data-field='name'].current"), "Tab saves and moves right");
    accept_confirms(&b);
    b.click("#grid tr[data-no='3'] button.del");
    b.wait_text(".pager", "本表共 2 行");
    b.goto(&web.at("/tables/A6-1-1?only=deleted"));
    b.wait_text("#grid tbody", "T003");

    // The CSP forbids inline scripts and styles: the grid's page has none.
    let src = b.source();
    assert!(!src.contains(" style=") && !src.contains("onclick="), "no inline styles or handlers");
}

/// Pastes `text` (as Excel puts it on the clipboard) where the grid takes keys.
fn paste(b: &Browser, text: &str) {
    let js = format!(
        "const dt = new DataTransfer(); dt.setData('text/plain', {});
         document.getElementById('grid-keys').dispatchEvent(new ClipboardEvent('paste', {{ clipboardData: dt, bubbles: true, cancelable: true }}));
         return true;",
        serde_json::to_string(text).unwrap()
    );
    b.execute(&js);
}

#[test]
fn a_block_copied_from_excel_pastes_into_the_grid_and_a_cell_copies_out() {
    let a = agent_with(&[teacher("T001", "王五", "198001"), teacher("T002", "李四", "198205")]);
    let web = Web::start(&a);
    let b = Browser::start();
    b.login(&web.url, "张三", PW);
    b.goto(&web.at("/tables/A6-1-1"));
    assert!(b.text(".legend").contains("数据只保存在本机"), "not enrolled: {}", b.text(".legend"));
    // Two rows × two columns from the current cell down and right; the bad date is kept as
    // typed and flagged, as if typed.
    b.click(&cell(1, "name"));
    paste(&b, "王五五\t汉族\r\n李四四\t“回族”\r\n");
    b.wait_text("#cell-msg", "已粘贴 4 个单元格（2 行）");
    assert_eq!(b.text(&format!("{} span.v", cell(1, "name"))), "王五五");
    assert_eq!(b.text(&format!("{} span.v", cell(2, "name"))), "李四四");
    assert!(b.exists(&format!("{}.c-error", cell(2, "ethnicity"))), "not a code of the list");
    // A date pasted in another spelling is normalised; quoted cells (with a tab inside) are one cell.
    b.click(&cell(1, "birth"));
    paste(&b, "1985.09\r\n\"1982\t05\"\r\n");
    b.wait_text(&format!("{} span.v", cell(1, "birth")), "198509");
    // The quoted "1982<tab>05" stayed one cell: read as 198205, with a warning about the space.
    assert_eq!(b.text(&format!("{} span.v", cell(2, "birth"))), "198205");
    assert!(b.exists(&format!("{}.c-warning", cell(2, "birth"))));
    assert_eq!(b.text(&format!("{} span.v", cell(2, "prof_level"))), "副高级", "nothing spilled into the next field");
    // A block wider than the fields to the right is refused whole, with the reason.
    b.click(&cell(1, "famous_teacher"));
    paste(&b, "a\tb\r\n");
    b.wait_text("#cell-msg", "有 2 列");
    // Rows beyond the last are added at the end, and the page shows them after a reload.
    b.click(&cell(2, "emp_no"));
    paste(&b, "T002\t李四四\r\nT003\t钱七\r\n");
    b.wait_text("#cell-msg", "其中新增 1 行");
    b.wait_text(&format!("{} span.v", cell(3, "name")), "钱七");
    assert!(b.text(".pager").contains("本表共 3 行"), "{}", b.text(".pager"));
    b.goto(&web.at("/tables/A6-1-1"));
    assert_eq!(b.text(&format!("{} span.v", cell(1, "birth"))), "198509", "stored");
    // Ctrl+Z undoes a paste made on the page, all of it.
    b.click(&cell(1, "post"));
    paste(&b, "主任\r\n副主任\r\n");
    b.wait_text(&format!("{} span.v", cell(2, "post")), "副主任");
    b.send_keys("#grid-keys", "\u{E009}z\u{E000}");
    b.wait_text("#cell-msg", "已撤销上一次粘贴（2 个单元格）");
    assert_eq!(b.text(&format!("{} span.v", cell(1, "post"))), "");
    assert_eq!(b.text(&format!("{} span.v", cell(2, "post"))), "");
    // Ctrl+C copies the current cell as Excel takes it.
    b.click(&cell(3, "name"));
    let copied = b.execute(
        "const dt = new DataTransfer();
         document.getElementById('grid-keys').dispatchEvent(new ClipboardEvent('copy', { clipboardData: dt, bubbles: true, cancelable: true }));
         return dt.getData('text/plain');",
    );
    assert_eq!(copied.as_str(), Some("钱七"));
    b.wait_text("#cell-msg", "已复制");
    // Ctrl+Z puts back what the last save replaced, on the page and in the store.
    b.send_keys("#grid-keys", "钱八");
    b.send_keys("#grid input.cell-editor", ENTER);
    b.wait_text(&format!("{} span.v", cell(3, "name")), "钱八");
    b.click(&cell(1, "dept"));
    b.send_keys("#grid-keys", "\u{E009}z\u{E000}");
    b.wait_text(&format!("{} span.v", cell(3, "name")), "钱七");
    b.wait_text("#cell-msg", "已撤销");
    b.send_keys("#grid-keys", "\u{E009}z\u{E000}");
    b.wait_text("#cell-msg", "没有可以撤销的修改");
    b.screenshot("agent-grid-paste");
    // On paper: the rows, without the toolbar and buttons.
    let paper = b.print("agent-grid");
    assert!(paper.contains("钱七") && paper.contains("王五五"), "{paper}");
    assert!(!paper.contains("新增一行") && !paper.contains("退出登录"), "no buttons on paper: {paper}");
}

#[test]
fn a_collector_fixes_a_returned_cell_and_the_head_submits_it() {
    let mut hub = Hub::new();
    hub.start();
    hub.ok(&["user-add", "审核员", "--role", "reviewer", "--password", PW]);
    let a = agent_with(&[teacher("T001", "王五", "198001"), teacher("T002", "李四", "198512")]);
    a.enroll(&hub.url(), &hub.code("jsjx", &[]), &hub.fingerprint());
    a.ok(&with_user(&["submit", "A6-1-1"], "张三", PW));
    a.ok(&with_user(&["approve", "A6-1-1"], "李主任", PW));
    a.ok(&["sync"]);
    let reviewer = |args: &[&str]| hub.ok(&with_user(args, "审核员", PW));
    reviewer(&["review", "act", "A6-1-1", "--department", "jsjx", "--action", "open"]);
    reviewer(&[
        "review",
        "act",
        "A6-1-1",
        "--department",
        "jsjx",
        "--action",
        "return",
        "--reason",
        "出生日期与人事档案不符",
        "--comment",
        "T002:出生日期:应为 198511",
    ]);
    a.ok(&["sync"]);

    let mut web = Web::start(&a);
    let b = Browser::start();
    b.login(&web.url, "张三", PW);
    b.wait_text("#tables tr[data-table='A6-1-1']", "已退回");
    assert!(b.text("#tables tr[data-table='A6-1-1']").contains("1 条待处理"));

    // The comment is listed at the top and marks its cell.
    b.click("#tables tr[data-table='A6-1-1'] a");
    b.wait_text("#comments", "应为 198511");
    assert!(b.text("#comments").contains("第2行「出生日期」"));
    b.wait_text("#return-reason", "出生日期与人事档案不符");
    assert!(b.exists(&format!("{}.c-comment", cell(2, "birth"))), "the commented cell is marked");
    // Everything is on the hub: no cell is marked as waiting, and the legend says what that means.
    assert_eq!(b.count("#grid td.c-pending"), 0);
    assert!(b.text(".legend").contains("无标记：已同步到中心端"), "{}", b.text(".legend"));

    // The collector fixes the cell, resolves the comment and submits.
    b.click(&cell(2, "birth"));
    b.send_keys("#grid-keys", "198511");
    b.send_keys("#grid input.cell-editor", ENTER);
    b.wait_text(&format!("{} span.v", cell(2, "birth")), "198511");
    assert!(b.exists(&format!("{}.c-pending", cell(2, "birth"))), "saved here, not yet on the hub");
    b.click("#comments form.resolve button");
    b.wait_text(".flash.ok", "批注已标记为已处理");
    assert!(b.text("#comments").contains("待处理 0 条"));
    accept_confirms(&b);
    b.click("#submit-form button");
    b.wait_text(".flash.ok", "状态由「已退回」变为「部门审核中」");
    assert!(b.exists("#locked-note") && b.exists(&format!("{}.c-locked", cell(2, "birth"))));
    assert!(!b.exists("#approve-form"), "a collector cannot approve");
    b.screenshot("agent-review");

    // The head signs in, approves and submits to the office.
    b.click("form.logout button");
    b.login(&web.url, "李主任", PW);
    b.goto(&web.at("/tables/A6-1-1"));
    accept_confirms(&b);
    b.click("#approve-form button");
    b.wait_text(".flash.ok", "已报送");

    // The background sync brings it to the hub.
    let started = Instant::now();
    let submitted = loop {
        let list = hub.ok(&["review", "list", "--department", "jsjx"]);
        if list.contains("A6-1-1 校内专任教师基本情况：已报送") {
            break true;
        }
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(submitted, "the hub never saw the submission: {}", hub.ok(&["review", "list", "--department", "jsjx"]));
    b.goto(&web.at("/sync"));
    b.wait_text("#sync-state", "在线");
    b.screenshot("agent-sync");

    // 立即同步 makes the background loop sync at once: the last sync's time (to the second)
    // moves on. First wait until no sync is under way (the time stays put for two seconds),
    // so that a new time after the click is the click's doing.
    let mut seen = b.text("#last-sync");
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(2));
        b.goto(&web.at("/sync"));
        let now = b.text("#last-sync");
        if now == seen {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the agent never stopped syncing");
        seen = now;
    }
    b.click("#sync-now button");
    b.wait_text(".flash.ok", "立即同步已开始");
    let started = Instant::now();
    while b.text("#last-sync") == seen {
        assert!(started.elapsed() < Duration::from_secs(10), "立即同步 did not sync: still {seen}");
        std::thread::sleep(Duration::from_millis(300));
        b.goto(&web.at("/sync"));
    }
    web.stop();
    let shown = hub.ok(&["review", "show", "A6-1-1", "--department", "jsjx"]);
    assert!(shown.contains("198512 → 198511"), "{shown}");
}

#[test]
fn import_by_upload_shows_the_report_and_export_downloads() {
    let a = Agent::new();
    a.ok(&["user-add", "张三", "--role", "collector", "--password", PW]);
    let file = a.path("教师名单.xlsx");
    teacher_workbook(&file, &[teacher("T001", "王五", "198001"), teacher("T002", "李四", "198513")]);
    let web = Web::start(&a);
    let b = Browser::start();
    b.login(&web.url, "张三", PW);
    b.goto(&web.at("/import"));
    b.upload("#file", &file);
    b.click("#import-form button[type=submit]");
    b.wait_text("#import-result", "已导入新增 2 行");
    assert!(b.text("#import-findings").contains("不是有效的年月"));
    assert!(b.text("#import-text").contains("A6-1-1 校内专任教师基本情况"));
    b.screenshot("agent-import");

    let fetch = |url: &str| {
        b.execute_async(&format!(
            "const done = arguments[0]; fetch('{url}', {{credentials: 'same-origin'}})
               .then(r => r.arrayBuffer().then(body => done([r.status, r.headers.get('content-type'), body.byteLength])))
               .catch(e => done(['error', String(e)]));"
        ))
    };
    let report = b.execute("return document.querySelector('#report-link').getAttribute('href')");
    let got = fetch(report.as_str().expect("report link"));
    assert_eq!(got[0], 200, "{got}");
    assert!(got[1].as_str().unwrap_or("").contains("spreadsheetml"), "{got}");
    b.click("a.button[href='/tables/A6-1-1']");
    b.wait_text(&format!("{} span.v", cell(2, "birth")), "198513");
    assert!(b.exists(&format!("{}.c-error", cell(2, "birth"))));
    let got = fetch("/tables/A6-1-1/export");
    assert_eq!(got[0], 200, "{got}");
    assert!(got[1].as_str().unwrap_or("").contains("spreadsheetml"), "{got}");
    assert!(got[2].as_u64().unwrap_or(0) > 1000, "{got}");
}
