//! The hub and background sync over real TLS on loopback: agents that were offline converge,
//! broken connections, a killed hub and a killed agent lose nothing, and every wrong request is
//! refused with the right status and message.

use std::collections::BTreeMap;
use std::time::Duration;

use caiji_shared::sync::{SheetMessage, SyncRequest, encode};

use crate::net::{Hub, Proxy};
use crate::support::{Agent, teacher, teacher_workbook};

/// emp_no → (name, birth) of an agent's live rows.
fn agent_view(a: &Agent) -> BTreeMap<String, (String, String)> {
    a.rows("A6-1-1")
        .iter()
        .filter(|r| r["deleted"] == false)
        .map(|r| {
            let c = &r["cells"];
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (s("emp_no"), (s("name"), s("birth")))
        })
        .collect()
}

fn hub_view(h: &Hub, dept: &str) -> BTreeMap<String, (String, String)> {
    h.rows("A6-1-1", dept)
        .iter()
        .map(|r| {
            let c = &r["cells"];
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (s("emp_no"), (s("name"), s("birth")))
        })
        .collect()
}

fn import(a: &Agent, name: &str, rows: &[Vec<String>]) {
    let path = a.path(name);
    teacher_workbook(&path, rows);
    a.ok(&["import", path.to_str().unwrap()]);
}

#[test]
fn offline_agents_of_one_department_converge() {
    let mut hub = Hub::new();
    hub.start();
    let fp = hub.fingerprint();
    // Agent A works offline first: its sheet is made from the same genesis as the hub's.
    let a = Agent::new();
    import(
        &a,
        "base.xlsx",
        &[teacher("T001", "张三", "198001"), teacher("T002", "李四", "198002"), teacher("T003", "王五", "198003")],
    );
    let out = a.enroll(&hub.url(), &hub.code("jsjx", &[]), &fp);
    assert!(out.contains(&format!("中心端证书指纹：{fp}")), "{out}");
    a.ok(&["sync"]);
    assert_eq!(hub_view(&hub, "jsjx"), agent_view(&a), "no duplicates after the first sync");
    // Agent B of the same department (a second PC) gets the department's data.
    let b = Agent::new();
    b.enroll(&hub.url(), &hub.code("jsjx", &[]), &fp);
    b.ok(&["sync"]);
    assert_eq!(agent_view(&b), agent_view(&a));

    // Both offline: the same cell, different cells, different new rows.
    a.ok(&["set", "A6-1-1", "T001", "出生日期", "198101"]);
    a.ok(&["set", "A6-1-1", "T002", "姓名", "李四四"]);
    a.ok(&["add", "A6-1-1", "教工号=T004", "姓名=赵六", "所属系部=计算机系"]);
    b.ok(&["set", "A6-1-1", "T001", "出生日期", "198202"]);
    b.ok(&["set", "A6-1-1", "T003", "姓名", "王五五"]);
    b.ok(&["add", "A6-1-1", "教工号=T005", "姓名=孙七", "所属系部=计算机系"]);

    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let (va, vb, vh) = (agent_view(&a), agent_view(&b), hub_view(&hub, "jsjx"));
    assert_eq!(va, vb);
    assert_eq!(va, vh);
    assert_eq!(va.len(), 5, "{va:?}");
    assert_eq!(va["T002"].0, "李四四");
    assert_eq!(va["T003"].0, "王五五");
    // The concurrent edit of one cell has one winner, the same everywhere; the other value
    // stays in the document's history.
    assert!(["198101", "198202"].contains(&va["T001"].1.as_str()), "{:?}", va["T001"]);
    let history = a.ok(&["history", "A6-1-1", "T001", "出生日期"]);
    assert!(history.contains("198101") && history.contains("198202"), "{history}");

    let status = a.ok(&["status"]);
    assert!(status.contains("A6-1-1 校内专任教师基本情况：已与中心端一致"), "{status}");
}

#[test]
fn broken_connections_and_killed_processes_lose_nothing() {
    let mut hub = Hub::new();
    hub.start();
    let fp = hub.fingerprint();
    let proxy = Proxy::new(hub.port);
    let a = Agent::new();
    a.enroll(&proxy.url(), &hub.code("jsjx", &[]), &fp);
    let mut expected = 0;
    for round in 0..3 {
        let rows: Vec<Vec<String>> =
            (0..2000).map(|i| teacher(&format!("R{round}-{i:04}"), "教师", "198001")).collect();
        import(&a, &format!("r{round}.xlsx"), &rows);
        expected += 2000;
        let mut child = a
            .command()
            .arg("sync")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + 100 * round as u64));
        match round {
            // The connection drops in the middle of the transfer.
            0 => proxy.cut(),
            // The hub is killed mid-sync and comes back on another port.
            1 => hub.kill(),
            // The agent is killed mid-sync.
            _ => {
                let _ = child.kill();
            }
        }
        let _ = child.wait();
        match round {
            0 => proxy.restore(),
            1 => {
                hub.start();
                proxy.retarget(hub.port);
            }
            _ => {}
        }
        // Afterwards a sync completes, and both sides hold everything.
        let mut synced = false;
        for _ in 0..5 {
            if a.run(&["sync"]).0 {
                synced = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        assert!(synced, "round {round}: sync recovers");
        let (va, vh) = (agent_view(&a), hub_view(&hub, "jsjx"));
        assert_eq!(va.len(), expected, "round {round}");
        assert_eq!(va, vh, "round {round}");
    }
}

#[test]
fn wrong_requests_are_refused() {
    let mut hub = Hub::new();
    hub.start();
    let fp = hub.fingerprint();
    let a = Agent::new();
    import(&a, "t.xlsx", &[teacher("T001", "张三", "198001")]);
    // An expired code, a used code, a wrong fingerprint.
    let expired = hub.code("jsjx", &["--hours=-1"]);
    let (ok, _, err) = a.run(&["enroll", "--hub", &hub.url(), "--code", &expired]);
    assert!(!ok && err.contains("注册码无效、已使用或已过期"), "{err}");
    let (ok, _, err) =
        a.run(&["enroll", "--hub", &hub.url(), "--code", &hub.code("jsjx", &[]), "--fingerprint", "AA:BB"]);
    assert!(!ok && err.contains("中心端证书指纹不符"), "{err}");
    // A code of another department.
    let (ok, _, err) = a.run(&["enroll", "--hub", &hub.url(), "--code", &hub.code("jwc", &[])]);
    assert!(!ok && err.contains("请使用本部门的注册码"), "{err}");
    a.enroll(&hub.url(), &hub.code("jsjx", &[]), &fp);
    a.ok(&["sync"]);

    let http = reqwest::blocking::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let sync_url = format!("{}/api/agent/sync", hub.url());
    let token = a.token();
    let post = |token: &str, body: Vec<u8>| {
        let r = http.post(&sync_url).bearer_auth(token).body(body).send().unwrap();
        let status = r.status().as_u16();
        let json: serde_json::Value = r.json().unwrap_or(serde_json::Value::Null);
        (status, json["code"].as_str().unwrap_or("").to_string(), json["message"].as_str().unwrap_or("").to_string())
    };
    let valid = encode(&SyncRequest { summary: Some(vec![]), ..SyncRequest::default() });
    assert_eq!(post(&token, valid.clone()).0, 200);
    // No token, a wrong token.
    let r = http.post(&sync_url).body(valid.clone()).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (status, code, message) = post("not-a-token", valid.clone());
    assert_eq!((status, code.as_str()), (401, "unauthorized"), "{message}");
    assert!(message.contains("令牌无效"), "{message}");
    // Another department's sheet.
    let foreign = encode(&SyncRequest {
        summary: None,
        messages: vec![SheetMessage { sheet: "2016/2025/A6-1-1/jwc".into(), message: vec![0x42] }],
        ..SyncRequest::default()
    });
    let (status, code, message) = post(&token, foreign);
    assert_eq!((status, code.as_str()), (403, "not_your_department"), "{message}");
    // Malformed, truncated, oversized bodies.
    let (status, code, _) = post(&token, b"\xff\xff\xff garbage".to_vec());
    assert_eq!((status, code.as_str()), (400, "bad_sync_request"));
    let (status, code, _) = post(&token, valid[..valid.len() - 1].to_vec());
    assert_eq!((status, code.as_str()), (400, "bad_sync_request"));
    let (status, code, _) = post(&token, vec![0u8; caiji_shared::sync::MAX_BODY + 1]);
    assert_eq!((status, code.as_str()), (413, "too_large"));
    // A message that is not an Automerge sync message: refused for that sheet only.
    let bad_msg = encode(&SyncRequest {
        summary: None,
        messages: vec![SheetMessage { sheet: "2016/2025/A6-1-1/jsjx".into(), message: b"not automerge".to_vec() }],
        ..SyncRequest::default()
    });
    let r = http.post(&sync_url).bearer_auth(&token).body(bad_msg).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let resp: caiji_shared::sync::SyncResponse = caiji_shared::sync::decode(&r.bytes().unwrap()).unwrap();
    assert_eq!(resp.refused[0].code, "bad_message");
    // The hub's data did not change from any of it.
    assert_eq!(hub_view(&hub, "jsjx").len(), 1);

    // A certificate that does not match the pinned fingerprint.
    let conn = rusqlite::Connection::open(a.data().join("caiji-agent.db")).unwrap();
    conn.execute("UPDATE hub SET fingerprint = 'AA:BB:CC'", []).unwrap();
    let (ok, _, err) = a.run(&["sync"]);
    assert!(!ok && err.contains("中心端证书指纹与登记时不一致"), "{err}");
    conn.execute("UPDATE hub SET fingerprint = ?1", [&fp]).unwrap();
    a.ok(&["sync"]);

    // A revoked agent is told so, and keeps its data.
    let agent_id: String = conn.query_row("SELECT agent_id FROM hub", [], |r| r.get(0)).unwrap();
    hub.ok(&["revoke", &agent_id]);
    let (ok, _, err) = a.run(&["sync"]);
    assert!(!ok && err.contains("已被中心端停用") && err.contains("本地数据不受影响"), "{err}");
    assert_eq!(agent_view(&a).len(), 1);
}

#[test]
fn the_plan_reaches_the_agent() {
    let mut hub = Hub::new();
    hub.start();
    let a = Agent::new();
    a.enroll(&hub.url(), &hub.code("jsjx", &[]), &hub.fingerprint());
    assert!(a.ok(&["tables"]).contains("A6-1-1"));
    hub.ok(&["plan", "set", "A6-1-1", "jsjx", "--remove"]);
    hub.ok(&["plan", "set", "A5-1", "jsjx", "--deadline", "2026-10-15"]);
    let out = a.ok(&["sync"]);
    assert!(out.contains("已更新采集计划"), "{out}");
    let tables = a.ok(&["tables"]);
    assert!(tables.contains("A5-1") && !tables.contains("A6-1-1 "), "{tables}");
}
