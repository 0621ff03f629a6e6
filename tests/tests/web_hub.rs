//! The hub's web screens in a real browser: the office reviews a resubmission's diff and
//! accepts it, the progress board follows a submission synced from an agent, the merged tables
//! and the year's steps with a downloadable export, department heads refused what is not theirs,
//! forms without the CSRF token refused, and the plan and the audit log.

use crate::browser::Browser;
use crate::net::{Hub, PASSWORD};
use crate::support::{Agent, teacher, teacher_workbook, with_user};

const PW: &str = "password-2025";

/// A started hub with a reviewer, an approver and the head of 计算机系 (read-only), and an
/// enrolled 计算机系 agent with a collector and a head that imported two teachers.
fn setup() -> (Hub, Agent) {
    let mut hub = Hub::new();
    hub.start();
    hub.ok(&["user-add", "审核员", "--role", "reviewer", "--password", PW]);
    hub.ok(&["user-add", "审定人", "--role", "approver", "--password", PW]);
    hub.ok(&["user-add", "计算机系主任", "--role", "dept_viewer", "--department", "jsjx", "--password", PW]);
    let a = Agent::new();
    a.enroll(&hub.url(), &hub.code("jsjx", &[]), &hub.fingerprint());
    a.ok(&["user-add", "张三", "--role", "collector", "--password", PW]);
    a.ok(&["user-add", "李主任", "--role", "dept-head", "--password", PW]);
    let file = a.path("teachers.xlsx");
    teacher_workbook(&file, &[teacher("T001", "王五", "198001"), teacher("T002", "李四", "198512")]);
    a.ok(&["import", file.to_str().unwrap()]);
    a.ok(&["sync"]);
    (hub, a)
}

/// The collector submits A6-1-1 and the head approves it (a submission to the office), synced.
fn submit(a: &Agent) {
    a.ok(&with_user(&["submit", "A6-1-1"], "张三", PW));
    a.ok(&with_user(&["approve", "A6-1-1"], "李主任", PW));
    a.ok(&["sync"]);
}

/// Forms that ask first (`data-confirm`) get "yes" in this page.
fn always_confirm(b: &Browser) {
    b.execute("window.confirm = function () { return true; }; return null;");
}

fn logout(b: &Browser) {
    b.click("form.logout button[type=submit]");
    b.wait_text("main", "已退出登录");
}

/// POSTs a form body from the page's script; returns (status, text).
fn post_form(b: &Browser, url: &str, body: &str) -> (u64, String) {
    let js = format!(
        "const done = arguments[arguments.length - 1];
         fetch({url:?}, {{ method: 'POST', credentials: 'same-origin',
           headers: {{ 'Content-Type': 'application/x-www-form-urlencoded' }}, body: {body:?} }})
           .then(r => r.text().then(t => done([r.status, t])), e => done([0, String(e)]));"
    );
    let v = b.execute_async(&js);
    (v[0].as_u64().unwrap_or(0), v[1].as_str().unwrap_or("").to_string())
}

/// A GET from the page's script; returns the status.
fn get_status(b: &Browser, url: &str) -> u64 {
    let js = format!(
        "const done = arguments[arguments.length - 1];
         fetch({url:?}, {{ credentials: 'same-origin' }}).then(r => done(r.status), e => done(0));"
    );
    b.execute_async(&js).as_u64().unwrap_or(0)
}

#[test]
fn office_reviews_the_diff_accepts_merges_and_exports() {
    let (hub, a) = setup();
    submit(&a);
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
    a.ok(&["set", "A6-1-1", "T002", "出生日期", "198511"]);
    submit(&a);

    let b = Browser::start();
    b.login(&hub.url(), "审核员", PW);
    b.goto(&format!("{}/review/A6-1-1/jsjx", hub.url()));
    b.wait_text("#state", "已报送");
    // The diff from the previous submission: the one changed cell, old → new.
    assert_eq!(b.text("#diff td.changed del"), "198512");
    assert_eq!(b.text("#diff td.changed ins"), "198511");
    assert!(b.text("#diff").contains("出生日期"), "{}", b.text("#diff"));
    assert!(!b.exists("#diff tr.added"), "only what changed, not the whole table");
    // The history shows the return and its cell comment; the data is the submitted version.
    b.wait_text("#history", "出生日期与人事档案不符");
    assert!(b.text("#history").contains("应为 198511"), "{}", b.text("#history"));
    assert!(b.text("#data").contains("198511") && b.text("#data").contains("王五"));
    b.screenshot("hub-review");
    // A comment picked by row and field joins the return's comment lines (行:字段:内容), or is
    // posted on its own.
    // A click on a cell picks its row and field and offers who changed it.
    b.click("#data tr[data-row='T002'] td[data-field='birth']");
    assert_eq!(b.value("#comment-row"), "T002");
    assert_eq!(b.value("#comment-field"), "birth");
    assert!(b.exists("#data td.picked[data-field='birth']"));
    assert!(b.text("#picked-who").contains("谁改了第2行 T002「出生日期」"), "{}", b.text("#picked-who"));
    b.select("#comment-row", "T001");
    b.select("#comment-field", "");
    b.fill("#comment-text", "请核对");
    b.click("#comment-add");
    assert_eq!(b.value("#return-comments"), "T001::请核对");
    b.fill("#comment-text", "工号已核对");
    b.click("#comment-send");
    b.wait_text("p.flash.ok", "已发表批注");
    b.wait_text("#history", "T001");
    assert!(b.text("#history").contains("工号已核对"), "{}", b.text("#history"));
    // The submitted data searches on the server; the search box keeps what was typed.
    b.fill("#data-search input[name=q]", "王五");
    b.click("#data-search button");
    b.wait_text("#submitted .pager", "符合条件 1 行，共 2 行");
    assert_eq!(b.count("#data tbody tr"), 1);
    assert_eq!(b.value("#data-search input[name=q]"), "王五");
    b.click("#data-search a");
    b.wait_text("#submitted .pager", "符合条件 2 行");
    // A return without a reason is refused by the rules, and the page says so.
    always_confirm(&b);
    let token = b.execute("return document.querySelector('meta[name=csrf-token]').content");
    let token = token.as_str().expect("token").to_string();
    let (status, text) = post_form(&b, "/review/A6-1-1/jsjx/act", &format!("_csrf={token}&action=return&reason="));
    assert_eq!(status, 200, "back to the page with a notice");
    assert!(text.contains("「退回修改」必须填写原因"), "{text}");
    b.click("#act-accept");
    b.wait_text("#state", "已通过");
    b.wait_text("p.flash.ok", "审核通过");
    assert!(hub.ok(&["review", "list", "--department", "jsjx"]).contains("A6-1-1 校内专任教师基本情况：已通过"));

    // The administrator merges and locks; the approver approves; the administrator exports
    // and the files download from the merged page (and nothing else does).
    logout(&b);
    b.login(&hub.url(), "admin", PASSWORD);
    b.goto(&format!("{}/merged", hub.url()));
    always_confirm(&b);
    b.click("#step-merge");
    b.wait_text("p.flash.ok", "已汇总 1 张部门表");
    b.wait_text("#merged-tables", "A6-1-1");
    b.click("#merged-tables a");
    b.wait_text("#merged", "王五");
    assert_eq!(b.count("#merged tbody tr"), 2);
    // "Who changed this": each cell links to its history — T002's birth date was corrected
    // between the two submissions, and both changes came before the office accepted it.
    b.click("#merged tbody tr:nth-child(2) a.who[href$='field=birth']");
    b.wait_text("#who", "198511");
    assert!(
        b.text("#who-cell").contains("T002") && b.text("#who-cell").contains("出生日期"),
        "{}",
        b.text("#who-cell")
    );
    assert_eq!(b.text("#who-now"), "198511");
    assert_eq!(b.count("#who tbody tr"), 2, "{}", b.text("#who"));
    assert!(b.text("#who tbody tr:nth-child(2)").contains("198512 → 198511"), "{}", b.text("#who"));
    assert!(b.text("#who tbody tr:nth-child(2)").contains("第1次报送（李主任）后"), "{}", b.text("#who"));
    assert!(b.text("#who tbody tr:nth-child(2)").contains("审核通过（审核员）前"), "{}", b.text("#who"));
    b.screenshot("hub-who");
    b.goto(&format!("{}/merged", hub.url()));
    always_confirm(&b);
    b.click("#step-lock");
    b.wait_text("p.flash.ok", "已锁定 1 张表");
    b.screenshot("hub-merged");
    logout(&b);
    b.login(&hub.url(), "审定人", PW);
    b.goto(&format!("{}/merged", hub.url()));
    assert!(!b.exists("#step-merge"), "the approver only approves");
    always_confirm(&b);
    b.click("#step-approve");
    b.wait_text("p.flash.ok", "院长办公会已审定 1 张表");
    logout(&b);
    b.login(&hub.url(), "admin", PASSWORD);
    b.goto(&format!("{}/merged", hub.url()));
    always_confirm(&b);
    b.click("#step-export");
    b.wait_text("p.flash.ok", "已导出");
    b.wait_text("#exports", "manifest.json");
    let href = b.execute("return document.querySelector('#exports a[href$=\"manifest.json\"]').getAttribute('href')");
    let href = href.as_str().expect("a download link").to_string();
    assert_eq!(get_status(&b, &href), 200);
    let dir = href.split('/').nth(2).expect("export folder").to_string();
    assert_eq!(get_status(&b, &format!("/exports/{dir}/..%2F..%2Fcaiji-hub.db")), 404);
    assert_eq!(get_status(&b, &format!("/exports/{dir}/%2E%2E")), 404);
    assert_eq!(get_status(&b, "/exports/..%2F..%2Fhub/caiji-hub.db"), 404);
    assert!(hub.ok(&["review", "list", "--department", "jsjx"]).contains("已上报"));
    // After the final approval the administrator starts the next year from the approved data,
    // after a confirmation; the merged page says what was carried over.
    b.goto(&format!("{}/merged", hub.url()));
    assert!(b.exists("form#rollover[data-confirm]"), "the rollover asks first");
    always_confirm(&b);
    b.click("#step-rollover");
    b.wait_text("p.flash.ok", "结转 1 张表、2 行");
    assert!(!b.exists("#step-rollover"), "once only: the new year has nothing approved");
    assert!(hub.ok(&["review", "list", "--department", "jsjx"]).contains("填报中"));
}

#[test]
fn progress_board_follows_a_submission_synced_from_an_agent() {
    let (hub, a) = setup();
    let b = Browser::start();
    b.login(&hub.url(), "admin", PASSWORD);
    b.goto(&format!("{}/", hub.url()));
    b.wait_text("#cell-A6-1-1-jsjx", "填报中");
    assert!(b.exists("#cell-A6-1-1-jsjx a[href='/review/A6-1-1/jsjx']"));
    assert!(b.text("table.board tfoot").contains("待审 0"), "{}", b.text("table.board tfoot"));
    // A deadline that has passed shows as late while the sheet waits.
    hub.ok(&["plan", "set", "A6-1-1", "jsjx", "--deadline", "2020-01-01"]);
    b.wait_text("#cell-A6-1-1-jsjx", "逾期");
    b.screenshot("hub-board");
    // On paper: the board without the navigation and buttons.
    let paper = b.print("hub-board");
    assert!(paper.contains("计算机系") && paper.contains("逾期"), "{paper}");
    assert!(!paper.contains("退出登录"), "no buttons on paper: {paper}");

    // Submitted and synced on the agent: the board refreshes itself.
    submit(&a);
    b.wait_text("#cell-A6-1-1-jsjx", "已报送");
    assert!(b.text("#cell-A6-1-1-jsjx").contains("逾期"), "a late submission stays marked");
    assert!(b.text("table.board tfoot").contains("待审 1"), "{}", b.text("table.board tfoot"));
    // And a reload shows the same.
    b.goto(&format!("{}/", hub.url()));
    b.wait_text("#cell-A6-1-1-jsjx", "已报送");
    b.click("#cell-A6-1-1-jsjx a");
    b.wait_text("#state", "已报送");
    assert!(b.text("#diff").contains("首次报送"));
}

#[test]
fn department_heads_are_refused_and_forms_need_the_csrf_token() {
    let (hub, a) = setup();
    submit(&a);
    let b = Browser::start();
    b.login(&hub.url(), "计算机系主任", PW);
    // The board sends a department head to the merged tables, the only thing they may read.
    assert!(b.url().ends_with("/merged"), "{}", b.url());
    assert!(!b.source().contains("href=\"/plan\""), "no navigation to what they may not use");
    b.goto(&format!("{}/review/A6-1-1/jsjx", hub.url()));
    b.wait_text("main", "部门负责人（只读）不能查看审核页面");
    assert_eq!(get_status(&b, "/review/A6-1-1/jsjx"), 403);
    b.goto(&format!("{}/plan", hub.url()));
    b.wait_text("main", "不能查看采集计划");
    assert_eq!(get_status(&b, "/plan"), 403);
    assert_eq!(get_status(&b, "/audit"), 403);
    // Not merged yet: the school-wide table is refused with the table's name.
    b.goto(&format!("{}/merged/A6-1-1", hub.url()));
    b.wait_text("main", "A6-1-1 校内专任教师基本情况 尚未汇总");
    // Even with a valid token, a read-only user cannot act; the server checks.
    b.goto(&format!("{}/merged", hub.url()));
    let token = b.execute("return document.querySelector('meta[name=csrf-token]').content");
    let token = token.as_str().expect("token").to_string();
    let (status, text) = post_form(&b, "/review/A6-1-1/jsjx/act", &format!("_csrf={token}&action=accept"));
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("只读用户不能执行此操作"), "{text}");
    logout(&b);

    // A reviewer's form without the token (or with another one) is refused before it acts.
    b.login(&hub.url(), "审核员", PW);
    b.goto(&format!("{}/review/A6-1-1/jsjx", hub.url()));
    b.wait_text("#state", "已报送");
    let (status, text) = post_form(&b, "/review/A6-1-1/jsjx/act", "action=accept");
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("安全校验未通过"), "{text}");
    let (status, _) = post_form(&b, "/review/A6-1-1/jsjx/act", "_csrf=00000000000000000000000000000000&action=accept");
    assert_eq!(status, 403);
    assert!(hub.ok(&["review", "list", "--department", "jsjx"]).contains("已报送"), "nothing happened");
    // Bad input is a Chinese message, not a crash.
    b.goto(&format!("{}/review/NOPE/jsjx", hub.url()));
    b.wait_text("main", "没有表「NOPE」");
    b.goto(&format!("{}/review/A6-1-1/nope", hub.url()));
    b.wait_text("main", "没有部门「nope」");
}

#[test]
fn plan_and_audit_pages_work_and_the_audit_filter_narrows() {
    let (hub, _a) = setup();
    let b = Browser::start();
    b.login(&hub.url(), "admin", PASSWORD);
    b.goto(&format!("{}/plan", hub.url()));
    b.wait_text("#departments", "计算机系");
    b.wait_text("#agents", "测试电脑");
    b.wait_text("#users", "计算机系主任");
    // A department, an assignment with a deadline, an enrollment code (shown once), a user.
    b.fill("#departments input[name=code]", "szb");
    b.fill("#departments input[name=name]", "思政部");
    b.click("#add-department");
    b.wait_text("p.flash.ok", "已添加部门 思政部（szb）");
    b.wait_text("#departments", "思政部");
    b.select("#assignments select[name=table]", "A6-1-1");
    b.execute(
        "const d = document.querySelector('#assignments input[name=deadline]'); d.value = '2026-10-15'; return null;",
    );
    b.click("#assignments input[value=jwc]");
    b.click("#assign");
    b.wait_text("p.flash.ok", "已分配表 A6-1-1：jwc，截止 2026-10-15");
    assert!(hub.ok(&["plan", "show", "jwc"]).contains("A6-1-1"));
    b.select("#codes select[name=department]", "szb");
    b.click("#issue-code");
    b.wait_text("p.flash.ok", "思政部（szb）的注册码：");
    let code = b.text("p.flash.ok");
    b.goto(&format!("{}/plan", hub.url()));
    assert!(!b.exists("p.flash"), "the code is shown once: {code}");
    b.fill("#users input[name=name]", "新审核员");
    b.select("#users select[name=role]", "reviewer");
    b.fill("#users input[name=password]", "short");
    b.execute("document.querySelector('#users input[name=password]').removeAttribute('minlength'); return null;");
    b.click("#add-user");
    b.wait_text("p.flash.err", "密码至少 8 个字符");
    b.fill("#users input[name=name]", "新审核员");
    b.fill("#users input[name=password]", "long-enough-1");
    b.click("#add-user");
    b.wait_text("p.flash.ok", "已添加用户 新审核员");
    b.screenshot("hub-plan");

    // The audit log: everything, then only what the filter asks for.
    b.goto(&format!("{}/audit", hub.url()));
    b.wait_text("#audit", "添加部门");
    let all = b.count("#audit tbody tr");
    b.screenshot("hub-audit");
    b.select("#audit-filter select[name=action]", "department_added");
    b.wait_text("#audit-filter", "添加部门");
    let started = std::time::Instant::now();
    while !b.url().contains("action=department_added") && started.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    b.wait_text("#audit-count", "共");
    let only = b.count("#audit tbody tr");
    assert!(only > 0 && only < all, "{only} of {all}");
    assert!(b.text("#audit tbody").lines().all(|l| l.contains("添加部门")), "{}", b.text("#audit tbody"));
    b.select("#audit-filter select[name=department]", "szb");
    let started = std::time::Instant::now();
    while !b.url().contains("department=szb") && started.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    b.wait_text("#audit", "思政部");
    assert_eq!(b.count("#audit tbody tr"), 1, "{}", b.text("#audit tbody"));
    // By person: the administrator's sign-ins.
    b.goto(&format!("{}/audit?person=admin&action=sign_in", hub.url()));
    b.wait_text("#audit", "登录");
    assert!(b.count("#audit tbody tr") >= 1 && b.count("#audit tbody tr") < all);
}
