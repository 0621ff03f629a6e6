//! The review loop between a department and the office: submit (blocked by errors), the
//! head's return and approval, the office's return with a cell comment that reaches the agent,
//! the fix, the resubmission whose diff the office sees, acceptance; and role refusals.

use crate::net::Hub;
use crate::support::{Agent, teacher, teacher_workbook, with_user};

const PW: &str = "password-2025";

fn as_user<'a>(args: &[&'a str], user: &'a str) -> Vec<&'a str> {
    with_user(args, user, PW)
}

#[test]
fn submit_return_with_comments_fix_resubmit_accept() {
    let mut hub = Hub::new();
    hub.start();
    hub.ok(&["user-add", "审核员", "--role", "reviewer", "--password", PW]);
    hub.ok(&["user-add", "计算机系主任", "--role", "dept_viewer", "--department", "jsjx", "--password", PW]);
    let a = Agent::new();
    a.enroll(&hub.url(), &hub.code("jsjx", &[]), &hub.fingerprint());
    a.ok(&["user-add", "张三", "--role", "collector", "--password", PW]);
    a.ok(&["user-add", "李主任", "--role", "dept-head", "--password", PW]);
    let file = a.path("teachers.xlsx");
    teacher_workbook(&file, &[teacher("T001", "王五", "198001"), teacher("T002", "李四", "198513")]);
    a.ok(&["import", file.to_str().unwrap()]);

    // Errors block the submission; warnings would not.
    let (ok, _, err) = a.run(&as_user(&["submit", "A6-1-1"], "张三"));
    assert!(!ok && err.contains("有 1 处错误，须修正后才能提交"), "{err}");
    a.ok(&["set", "A6-1-1", "T002", "出生日期", "198512"]);
    assert!(a.ok(&as_user(&["submit", "A6-1-1"], "张三")).contains("状态由「填报中」变为「部门审核中」"));
    // A collector cannot approve; a wrong password is refused.
    let (ok, _, err) = a.run(&as_user(&["approve", "A6-1-1"], "张三"));
    assert!(!ok && err.contains("数据采集人不能执行「部门审核通过并报送」"), "{err}");
    let (ok, _, err) = a.run(&["approve", "A6-1-1", "--user", "李主任", "--password", "wrong"]);
    assert!(!ok && err.contains("不存在或密码错误"), "{err}");
    // The head returns it once, then approves the resubmission.
    a.ok(&as_user(&["return", "A6-1-1", "--reason", "请核对职称"], "李主任"));
    a.ok(&as_user(&["submit", "A6-1-1"], "张三"));
    a.ok(&as_user(&["approve", "A6-1-1"], "李主任"));
    a.ok(&["sync"]);
    assert!(hub.ok(&["review", "list", "--department", "jsjx"]).contains("A6-1-1 校内专任教师基本情况：已报送"));
    let shown = hub.ok(&["review", "show", "A6-1-1", "--department", "jsjx"]);
    assert!(shown.contains("李主任 部门退回：请核对职称") && shown.contains("首次报送"), "{shown}");

    // The office returns it with a comment on one cell; it reaches the agent.
    let reviewer = |args: &[&str]| {
        let mut v = args.to_vec();
        v.extend_from_slice(&["--user", "审核员", "--password", PW]);
        hub.ok(&v)
    };
    reviewer(&["review", "act", "A6-1-1", "--department", "jsjx", "--action", "open"]);
    let (ok, _, err) = hub.run(&[
        "review",
        "act",
        "A6-1-1",
        "--department",
        "jsjx",
        "--action",
        "return",
        "--user",
        "审核员",
        "--password",
        PW,
    ]);
    assert!(!ok && err.contains("「退回修改」必须填写原因"), "{err}");
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
    let (ok, _, err) = hub.run(&[
        "review",
        "act",
        "A6-1-1",
        "--department",
        "jsjx",
        "--action",
        "accept",
        "--user",
        "计算机系主任",
        "--password",
        PW,
    ]);
    assert!(!ok && err.contains("只读用户不能执行审核操作"), "{err}");
    a.ok(&["sync"]);
    let comments = a.ok(&["comments", "A6-1-1"]);
    assert!(comments.contains("退回修改（审核员）：出生日期与人事档案不符"), "{comments}");
    assert!(comments.contains("A6-1-1 第2行「出生日期」：应为 198511（审核员，待处理"), "{comments}");
    assert!(a.ok(&["tables"]).contains("已退回"));
    // The comment shows where the collector fixes the row.
    assert!(a.ok(&["show", "A6-1-1", "T002"]).contains("批注「出生日期」：应为 198511（审核员）"));

    // The fix, the comment resolved, the resubmission; the office sees only what changed.
    a.ok(&["set", "A6-1-1", "T002", "出生日期", "198511"]);
    assert!(a.ok(&["tables"]).contains("已退回*"), "changed since the submitted version");
    let id = comments.split("编号 ").nth(1).and_then(|s| s.split('）').next()).expect("comment id").to_string();
    a.ok(&as_user(&["resolve", &id], "张三"));
    a.ok(&as_user(&["submit", "A6-1-1"], "张三"));
    a.ok(&as_user(&["approve", "A6-1-1"], "李主任"));
    a.ok(&["sync"]);
    let shown = hub.ok(&["review", "show", "A6-1-1", "--department", "jsjx"]);
    assert!(shown.contains("与上次报送相比：") && shown.contains("「出生日期」：198512 → 198511"), "{shown}");
    assert!(!shown.contains("新增"), "only the diff, not the whole table: {shown}");
    reviewer(&["review", "act", "A6-1-1", "--department", "jsjx", "--action", "accept"]);
    a.ok(&["sync"]);
    assert!(a.ok(&["tables"]).contains("已通过"));
    assert!(a.ok(&["comments", "A6-1-1"]).contains("已处理"));

    // Merge and lock; a change after the lock is kept aside, not in the locked data.
    let admin = |args: &[&str]| {
        let mut v = args.to_vec();
        v.extend_from_slice(&["--user", "admin", "--password", crate::net::PASSWORD]);
        hub.ok(&v)
    };
    let merged = admin(&["merge"]);
    assert!(merged.contains("A6-1-1 校内专任教师基本情况：全校 2 行"), "{merged}");
    assert!(admin(&["lock"]).contains("已锁定 1 张表"));
    a.ok(&["set", "A6-1-1", "T001", "姓名", "王五五"]);
    a.ok(&["sync"]);
    let shown = hub.ok(&["review", "show", "A6-1-1", "--department", "jsjx"]);
    assert!(shown.contains("锁定后的修改（已保存，不在上报数据中）") && shown.contains("王五 → 王五五"), "{shown}");
    // An exception reopens the sheet (reason required); it is resubmitted, accepted, re-locked.
    let (ok, _, err) = hub.run(&[
        "review",
        "act",
        "A6-1-1",
        "--department",
        "jsjx",
        "--action",
        "exception",
        "--user",
        "admin",
        "--password",
        crate::net::PASSWORD,
    ]);
    assert!(!ok && err.contains("「例外开放」必须填写原因"), "{err}");
    admin(&["review", "act", "A6-1-1", "--department", "jsjx", "--action", "exception", "--reason", "更正教师姓名"]);
    a.ok(&["sync"]);
    assert!(a.ok(&["tables"]).contains("例外开放"));
    a.ok(&as_user(&["approve", "A6-1-1"], "李主任"));
    a.ok(&["sync"]);
    reviewer(&["review", "act", "A6-1-1", "--department", "jsjx", "--action", "accept"]);
    assert!(admin(&["lock"]).contains("A6-1-1 jsjx（重新锁定）"));
    // The final approval; then who changed the name, and when relative to the milestones.
    hub.ok(&["user-add", "院长办公会", "--role", "approver", "--password", PW]);
    let (ok, _, err) = hub.run(&["approve", "--user", "审核员", "--password", PW]);
    assert!(!ok && err.contains("平台管理办公室审核员不能执行「院长办公会审定」"), "{err}");
    assert!(hub.ok(&["approve", "--user", "院长办公会", "--password", PW]).contains("已审定 1 张表"));
    a.ok(&["sync"]);
    assert!(a.ok(&["tables"]).contains("已审定"));
    let who = hub.ok(&["who", "A6-1-1", "--department", "jsjx", "--row", "T001", "--field", "姓名"]);
    assert!(who.contains("王五 → 王五五") && who.contains("锁定（admin）后"), "{who}");
    assert!(who.contains("审定（院长办公会）前"), "{who}");

    // The export for the province, from the locked version; reproducible byte for byte.
    let out_dir = hub.tmp.path().join("上报");
    let (ok, _, err) = hub.run(&["export", "-o", out_dir.to_str().unwrap(), "--user", "审核员", "--password", PW]);
    assert!(!ok && err.contains("只有平台管理办公室管理员可以导出"), "{err}");
    let exported = admin(&["export", "-o", out_dir.to_str().unwrap()]);
    assert!(exported.contains("测试职业学院-2025学年状态数据.xlsx"), "{exported}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("测试职业学院-2025学年状态数据.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        json["tables"]["A6-1-1"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"王五五") && names.contains(&"李四"), "{names:?}");
    let again = hub.tmp.path().join("重新生成");
    let manifest = out_dir.join("manifest.json");
    admin(&["export", "-o", again.to_str().unwrap(), "--reproduce", manifest.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(out_dir.join("测试职业学院-2025学年状态数据.xlsx")).unwrap(),
        std::fs::read(again.join("测试职业学院-2025学年状态数据.xlsx")).unwrap()
    );
    a.ok(&["sync"]);
    assert!(a.ok(&["tables"]).contains("已上报"));

    // After the merge a department head may read the school-wide table.
    assert!(hub.ok(&["merged", "A6-1-1", "--user", "计算机系主任", "--password", PW]).contains("全校 2 行"));
    // The next year starts from this year's approved data for tables that carry over.
    let out = admin(&["rollover"]);
    assert!(out.contains("已开始2026-2027学年") && out.contains("2 行"), "{out}");
    a.ok(&["sync"]);
    assert!(a.ok(&["status"]).contains("2026-2027学年"));
    let rows = a.rows("A6-1-1");
    assert_eq!(rows.len(), 2, "carried over from the approved version");
    assert!(a.ok(&["tables"]).contains("A6-1-1     校内专任教师基本情况"));
    assert!(a.ok(&["history", "A6-1-1", "T001", "姓名"]).contains("从上一学年结转"));
}

#[test]
fn the_office_json_api() {
    let mut hub = Hub::new();
    hub.start();
    hub.ok(&["user-add", "审核员", "--role", "reviewer", "--password", PW]);
    hub.ok(&["user-add", "主任", "--role", "dept_viewer", "--department", "jsjx", "--password", PW]);
    let a = Agent::new();
    a.enroll(&hub.url(), &hub.code("jsjx", &[]), &hub.fingerprint());
    a.ok(&["user-add", "李主任", "--role", "dept-head", "--password", PW]);
    let file = a.path("t.xlsx");
    teacher_workbook(&file, &[teacher("T001", "王五", "198001")]);
    a.ok(&["import", file.to_str().unwrap()]);
    a.ok(&as_user(&["approve", "A6-1-1"], "李主任"));
    a.ok(&["sync"]);

    let http = reqwest::blocking::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let url = |p: &str| format!("{}{p}", hub.url());
    let login = |name: &str, password: &str| {
        http.post(url("/api/office/login"))
            .json(&serde_json::json!({"name": name, "password": password}))
            .send()
            .unwrap()
    };
    assert_eq!(login("审核员", "wrong").status().as_u16(), 401);
    let token = login("审核员", PW).json::<serde_json::Value>().unwrap()["token"].as_str().unwrap().to_string();
    let viewer = login("主任", PW).json::<serde_json::Value>().unwrap()["token"].as_str().unwrap().to_string();
    assert_eq!(http.get(url("/api/office/sheets")).send().unwrap().status().as_u16(), 401, "no session");
    let sheets: serde_json::Value =
        http.get(url("/api/office/sheets?department=jsjx")).bearer_auth(&token).send().unwrap().json().unwrap();
    let a611 = sheets.as_array().unwrap().iter().find(|s| s["table"] == "A6-1-1").unwrap();
    assert_eq!(a611["state"], "已报送");
    let act = |token: &str, body: serde_json::Value| {
        let r = http.post(url("/api/office/sheets/A6-1-1/jsjx/act")).bearer_auth(token).json(&body).send().unwrap();
        (r.status().as_u16(), r.json::<serde_json::Value>().unwrap())
    };
    let (status, body) = act(&token, serde_json::json!({"action": "return"}));
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    assert!(body["message"].as_str().unwrap().contains("必须填写原因"));
    let (status, body) = act(&viewer, serde_json::json!({"action": "accept"}));
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    let (status, body) =
        act(&token, serde_json::json!({"action": "return", "reason": "请核对", "comments": ["T001:姓名:应为全称"]}));
    assert_eq!(status, 200, "{body}");
    let review: serde_json::Value =
        http.get(url("/api/office/sheets/A6-1-1/jsjx")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(review["state"], "已退回");
    let r = http.post(url("/api/office/lock")).bearer_auth(&token).send().unwrap();
    assert_eq!(r.status().as_u16(), 403, "a reviewer may not lock");
    let audit: serde_json::Value =
        http.get(url("/api/office/audit?filter=审核员")).bearer_auth(&token).send().unwrap().json().unwrap();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(
        actions.contains(&"sign_in") && actions.contains(&"sign_in_failed") && actions.contains(&"workflow"),
        "{actions:?}"
    );
    a.ok(&["sync"]);
    assert!(a.ok(&["comments"]).contains("应为全称"));
}

#[test]
fn each_role_is_refused_what_is_not_its_own() {
    let mut hub = Hub::new();
    hub.start();
    hub.ok(&["user-add", "审核员", "--role", "reviewer", "--password", PW]);
    hub.ok(&["user-add", "审定人", "--role", "approver", "--password", PW]);
    hub.ok(&["user-add", "主任", "--role", "dept_viewer", "--department", "jsjx", "--password", PW]);
    let a = Agent::new();
    a.enroll(&hub.url(), &hub.code("jsjx", &[]), &hub.fingerprint());
    a.ok(&["user-add", "张三", "--role", "collector", "--password", PW]);
    a.ok(&["user-add", "李主任", "--role", "dept-head", "--password", PW]);
    let f = a.path("t.xlsx");
    teacher_workbook(&f, &[teacher("T001", "王五", "198001")]);
    a.ok(&["import", f.to_str().unwrap()]);
    a.ok(&as_user(&["submit", "A6-1-1"], "张三"));
    // The collector may neither return nor approve.
    for args in [&["approve", "A6-1-1"][..], &["return", "A6-1-1", "--reason", "x"][..]] {
        let (ok, _, err) = a.run(&as_user(args, "张三"));
        assert!(!ok && err.contains("数据采集人不能执行"), "{args:?}: {err}");
    }
    a.ok(&as_user(&["approve", "A6-1-1"], "李主任"));
    a.ok(&["sync"]);
    // Office roles: each only its own steps.
    let refused = |args: &[&str], user: &str, want: &str| {
        let mut v = args.to_vec();
        v.extend_from_slice(&["--user", user, "--password", PW]);
        let (ok, _, err) = hub.run(&v);
        assert!(!ok && err.contains(want), "{args:?} as {user}: {err}");
    };
    refused(&["merge"], "审核员", "平台管理办公室审核员不能执行「汇总」");
    refused(&["lock"], "审核员", "平台管理办公室审核员不能执行「锁定」");
    refused(&["rollover"], "审核员", "平台管理办公室审核员不能执行「开始新学年」");
    refused(&["approve"], "审核员", "不能执行「院长办公会审定」");
    refused(&["export", "-o", "x"], "审核员", "只有平台管理办公室管理员可以导出");
    refused(
        &["review", "act", "A6-1-1", "--department", "jsjx", "--action", "accept"],
        "审定人",
        "院长办公会审定人不能执行「审核通过」",
    );
    refused(
        &["review", "act", "A6-1-1", "--department", "jsjx", "--action", "accept"],
        "主任",
        "只读用户不能执行审核操作",
    );
    refused(&["merged", "A6-1-1"], "主任", "尚未汇总");
    refused(&["lock"], "主任", "只读用户不能执行「锁定」");
    // An agent cannot write the office's steps into the log: the hub keeps them refused.
    let token = a.token();
    let event = caiji_shared::workflow::Event {
        action: caiji_shared::workflow::Action::Accept,
        role: caiji_shared::workflow::Role::OfficeReviewer,
        actor: "伪造".into(),
        at: 1,
        reason: None,
        heads: vec![],
    };
    let record = caiji_shared::workflow::Record {
        id: "forged-1".into(),
        sheet: "2016/2025/A6-1-1/jsjx".into(),
        kind: caiji_shared::workflow::RecordKind::Event(event),
        seq: None,
        refused: None,
        late: false,
    };
    let body =
        caiji_shared::sync::encode(&caiji_shared::sync::SyncRequest { records: vec![record], ..Default::default() });
    let http = reqwest::blocking::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let r = http.post(format!("{}/api/agent/sync", hub.url())).bearer_auth(&token).body(body).send().unwrap();
    let resp: caiji_shared::sync::SyncResponse = caiji_shared::sync::decode(&r.bytes().unwrap()).unwrap();
    assert!(resp.records[0].refused.as_deref().is_some_and(|w| w.contains("采集端不能记录")), "{:?}", resp.records);
    assert!(hub.ok(&["review", "list", "--department", "jsjx"]).contains("A6-1-1 校内专任教师基本情况：已报送"));
}
