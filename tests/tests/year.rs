//! A whole academic year with three departments, through the real binaries: import, a
//! validation failure, a department return, the head's submission, an office return with a
//! cell comment, the fix and a resubmission (the office sees only the diff), acceptance, a merge
//! that finds a teacher reported by two departments (resolved by returning the right sheet), the
//! lock, a change after the lock kept aside, an exception and the re-lock, the final approval,
//! the export for the province, and the rollover into the next year.

use std::collections::BTreeMap;

use crate::net::{Hub, PASSWORD};
use crate::support::{Agent, teacher, teacher_workbook, with_user};

const PW: &str = "password-2025";

/// An enrolled agent with a collector and a head.
fn department(hub: &Hub, code: &str, name: &str) -> Agent {
    let a = Agent::of(code, name, "采集员");
    a.enroll(&hub.url(), &hub.code(code, &[]), &hub.fingerprint());
    a.ok(&["user-add", "采集员", "--role", "collector", "--password", PW]);
    a.ok(&["user-add", "负责人", "--role", "dept-head", "--password", PW]);
    a
}

#[test]
#[allow(clippy::print_stdout, reason = "prints the states and audit entries the year produced")]
fn a_whole_year_with_three_departments() {
    let mut hub = Hub::new();
    hub.ok(&["department", "add", "zzrsb", "组织人事部", "--kind", "office"]);
    hub.ok(&["plan", "set", "A7-2", "jwc", "--deadline", "2025-10-01"]);
    hub.ok(&["user-add", "审核员", "--role", "reviewer", "--password", PW]);
    hub.ok(&["user-add", "院长办公会", "--role", "approver", "--password", PW]);
    hub.start();
    let office =
        |args: &[&str], user: &str| hub.ok(&with_user(args, user, if user == "admin" { PASSWORD } else { PW }));
    let jsjx = department(&hub, "jsjx", "计算机系");
    let zzrsb = department(&hub, "zzrsb", "组织人事部");
    let jwc = department(&hub, "jwc", "教务处");
    let head = |a: &Agent, args: &[&str]| a.ok(&with_user(args, "负责人", PW));
    let collector = |a: &Agent, args: &[&str]| a.ok(&with_user(args, "采集员", PW));

    // 计算机系: a validation failure, a department return, the head's submission.
    let f = jsjx.path("teachers.xlsx");
    teacher_workbook(&f, &[teacher("T001", "张三", "198001"), teacher("T002", "李四", "198513")]);
    jsjx.ok(&["import", f.to_str().unwrap()]);
    let (ok, _, err) = jsjx.run(&with_user(&["submit", "A6-1-1"], "采集员", PW));
    assert!(
        !ok && err.contains("第2行「出生日期」：198513 不是有效的年月"),
        "errors block the submission, named: {err}"
    );
    jsjx.ok(&["set", "A6-1-1", "T002", "出生日期", "198512"]);
    collector(&jsjx, &["submit", "A6-1-1"]);
    head(&jsjx, &["return", "A6-1-1", "--reason", "补充职称"]);
    collector(&jsjx, &["submit", "A6-1-1"]);
    head(&jsjx, &["approve", "A6-1-1"]);
    // 组织人事部 reports T001 as well; 教务处 its courses, after the deadline.
    let f = zzrsb.path("teachers.xlsx");
    teacher_workbook(&f, &[teacher("T100", "赵六", "197505"), teacher("T001", "张三", "198001")]);
    zzrsb.ok(&["import", f.to_str().unwrap()]);
    head(&zzrsb, &["approve", "A6-1-1"]);
    let courses = jwc.path("A7-2课程设置.csv");
    std::fs::write(&courses, "专业代码,专业方向,课程代码,课程名称,学分\n510201,计算机应用技术,C001,高等数学,4\n")
        .unwrap();
    jwc.ok(&["import", courses.to_str().unwrap()]);
    head(&jwc, &["approve", "A7-2"]);
    for a in [&jsjx, &zzrsb, &jwc] {
        a.ok(&["sync"]);
    }
    assert!(hub.ok(&["review", "list", "--department", "jwc"]).contains("A7-2 课程设置：已报送（逾期报送）"));

    // The office returns 计算机系 with a cell comment; the fix comes back as a diff.
    office(&["review", "act", "A6-1-1", "--department", "jsjx", "--action", "open"], "审核员");
    office(
        &[
            "review",
            "act",
            "A6-1-1",
            "--department",
            "jsjx",
            "--action",
            "return",
            "--reason",
            "出生日期有误",
            "--comment",
            "T002:出生日期:应为 198511",
        ],
        "审核员",
    );
    jsjx.ok(&["sync"]);
    assert!(jsjx.ok(&["comments"]).contains("第2行「出生日期」：应为 198511"));
    jsjx.ok(&["set", "A6-1-1", "T002", "出生日期", "198511"]);
    collector(&jsjx, &["submit", "A6-1-1"]);
    head(&jsjx, &["approve", "A6-1-1"]);
    jsjx.ok(&["sync"]);
    let shown = hub.ok(&["review", "show", "A6-1-1", "--department", "jsjx"]);
    assert!(shown.contains("「出生日期」：198512 → 198511") && !shown.contains("新增"), "{shown}");
    for (t, d) in [("A6-1-1", "jsjx"), ("A6-1-1", "zzrsb"), ("A7-2", "jwc")] {
        office(&["review", "act", t, "--department", d, "--action", "accept"], "审核员");
    }

    // The merge finds T001 in two departments; 组织人事部's sheet goes back and is fixed.
    let merged = office(&["merge"], "admin");
    assert!(
        merged.contains("教工号「T001」与jsjx的第1行重复") || merged.contains("教工号「T001」与zzrsb的第2行重复"),
        "{merged}"
    );
    office(
        &["review", "act", "A6-1-1", "--department", "zzrsb", "--action", "return", "--reason", "T001 属于计算机系"],
        "审核员",
    );
    zzrsb.ok(&["sync"]);
    zzrsb.ok(&["delete", "A6-1-1", "T001"]);
    head(&zzrsb, &["approve", "A6-1-1"]);
    zzrsb.ok(&["sync"]);
    office(&["review", "act", "A6-1-1", "--department", "zzrsb", "--action", "accept"], "审核员");
    let merged = office(&["merge"], "admin");
    assert!(!merged.contains("重复") && merged.contains("A6-1-1 校内专任教师基本情况：全校 3 行"), "{merged}");

    // Lock; a late change is kept aside; an exception, and the re-lock at the new version.
    assert!(office(&["lock"], "admin").contains("已锁定 3 张表"));
    jsjx.ok(&["set", "A6-1-1", "T001", "姓名", "张三丰"]);
    jsjx.ok(&["sync"]);
    assert!(
        hub.ok(&["review", "show", "A6-1-1", "--department", "jsjx"])
            .contains("锁定后的修改（已保存，不在上报数据中）")
    );
    office(
        &["review", "act", "A6-1-1", "--department", "jsjx", "--action", "exception", "--reason", "更正姓名"],
        "admin",
    );
    jsjx.ok(&["sync"]);
    head(&jsjx, &["approve", "A6-1-1"]);
    jsjx.ok(&["sync"]);
    office(&["review", "act", "A6-1-1", "--department", "jsjx", "--action", "accept"], "审核员");
    assert!(office(&["lock"], "admin").contains("A6-1-1 jsjx（重新锁定）"));

    // Final approval, export, and the next year.
    assert!(office(&["approve"], "院长办公会").contains("已审定 3 张表"));
    let out = hub.tmp.path().join("上报");
    office(&["export", "-o", out.to_str().unwrap()], "admin");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("测试职业学院-2025学年状态数据.json")).unwrap()).unwrap();
    let names: Vec<&str> =
        json["tables"]["A6-1-1"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["张三丰", "李四", "赵六"], "three teachers, the exception's correction included");
    assert_eq!(json["tables"]["A7-2"].as_array().unwrap().len(), 1);
    assert!(office(&["rollover"], "admin").contains("已开始2026-2027学年"));
    for a in [&jsjx, &zzrsb, &jwc] {
        a.ok(&["sync"]);
    }
    assert_eq!(jsjx.rows("A6-1-1").len(), 2, "this year's approved teachers carried over");
    assert!(jsjx.ok(&["tables"]).contains("填报中"));

    // What the year produced.
    let mut states = BTreeMap::new();
    let mut actions = BTreeMap::new();
    for line in hub.ok(&["audit", "--limit", "5000"]).lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        if parts.len() == 4 {
            *actions.entry(parts[2].to_string()).or_insert(0) += 1;
            if parts[2] == "workflow" {
                let step =
                    parts[3].split_whitespace().nth(1).unwrap_or("").split('（').next().unwrap_or("").to_string();
                *states.entry(step).or_insert(0) += 1;
            }
        }
    }
    println!("audit entries by action: {actions:?}");
    println!("workflow steps: {states:?}");
    for a in ["enrolled", "sign_in", "workflow", "merge", "export", "rollover", "plan_changed", "user_added"] {
        assert!(actions.contains_key(a), "audit has {a}: {actions:?}");
    }
}
