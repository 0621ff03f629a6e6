//! The hub's side of a sync round: compare the agent's summary with the stored heads, apply the
//! agent's Automerge sync messages after checking each one, answer with the hub's messages,
//! and store everything in one transaction. A refused sheet is reported and left untouched.

use std::collections::{BTreeSet, HashMap};

use automerge::sync::{self, SyncDoc};
use caiji_shared::sheet::SheetId;
use caiji_shared::sync::{MAX_SHEETS, SheetMessage, SheetRefusal, SyncRequest, SyncResponse};
use caiji_shared::workflow::{Action, RecordKind, Role};
use rusqlite::{OptionalExtension, params};

use crate::store::{Agent, HubError, HubStore};

/// What a round did, beyond its response.
pub struct Handled {
    pub response: SyncResponse,
    /// Sheets whose content changed in this round (other agents of the department are told).
    pub changed: Vec<SheetId>,
}

fn refusal(sheet: &str, code: &str, message: impl Into<String>) -> SheetRefusal {
    SheetRefusal { sheet: sheet.chars().take(120).collect(), code: code.into(), message: message.into() }
}

/// Checks that `agent` may sync the sheet named `key`.
fn admit(store: &HubStore, agent: &Agent, key: &str) -> Result<SheetId, SheetRefusal> {
    let id: SheetId = key.parse().map_err(|_| refusal(key, "bad_sheet", "表格文档标识无效"))?;
    if id.department != agent.department {
        return Err(refusal(
            key,
            "not_your_department",
            format!("表格属于部门「{}」，本采集端无权访问", id.department),
        ));
    }
    let info = store.info();
    if id.edition != info.edition || id.year != info.year {
        return Err(refusal(
            key,
            "year_not_open",
            format!("中心端当前收集的是 {}（{} 版目录），不接收 {} 的数据", info.year, info.edition, id.year),
        ));
    }
    if store.edition().table(&id.table).is_none() {
        return Err(refusal(key, "no_such_table", format!("没有表「{}」", id.table)));
    }
    Ok(id)
}

fn load_state(store: &HubStore, key: &str, agent: &str) -> Result<sync::State, HubError> {
    let bytes: Option<Vec<u8>> = store
        .conn()
        .query_row("SELECT state FROM sync_states WHERE sheet = ?1 AND agent_id = ?2", params![key, agent], |r| {
            r.get(0)
        })
        .optional()?;
    // A state that does not decode only costs a fuller exchange.
    Ok(bytes.and_then(|b| sync::State::decode(&b).ok()).unwrap_or_default())
}

/// Handles one request of `agent`.
pub fn handle(store: &mut HubStore, agent: &Agent, req: SyncRequest) -> Result<Handled, HubError> {
    let mut response = SyncResponse { plan_version: store.plan_version()?, ..SyncResponse::default() };
    if req.summary.as_ref().is_some_and(|s| s.len() > MAX_SHEETS) || req.messages.len() > MAX_SHEETS {
        return Err(HubError::Invalid(format!("一次同步最多 {MAX_SHEETS} 张表")));
    }
    // An honest agent never names another department's sheet: refuse the whole request.
    let keys = req
        .summary
        .iter()
        .flatten()
        .map(|h| &h.sheet)
        .chain(req.messages.iter().map(|m| &m.sheet))
        .chain(req.records.iter().map(|r| &r.sheet));
    for key in keys {
        if let Ok(id) = key.parse::<SheetId>()
            && id.department != agent.department
        {
            tracing::warn!(agent = %agent.id, department = %agent.department, sheet = %key, "采集端试图访问其他部门的表");
            store.audit(&format!("agent:{}", agent.id), "forbidden", key)?;
            return Err(HubError::NotYourDepartment(format!(
                "表「{key}」属于部门「{}」，本采集端（{}）无权访问",
                id.department, agent.department
            )));
        }
    }
    if let Some(summary) = &req.summary {
        let hub = store.department_heads(&agent.department)?;
        let mut listed = BTreeSet::new();
        for entry in summary {
            if let Err(r) = admit(store, agent, &entry.sheet) {
                response.refused.push(r);
                continue;
            }
            listed.insert(entry.sheet.clone());
            let theirs: Vec<[u8; 32]> = entry.heads.clone();
            let ours: Vec<[u8; 32]> =
                hub.get(&entry.sheet).map(|h| h.iter().map(|c| c.0).collect()).unwrap_or_default();
            let (mut a, mut b) = (theirs, ours);
            a.sort();
            b.sort();
            if a != b {
                response.changed.push(entry.sheet.clone());
            }
        }
        let year = store.info().year.0.to_string();
        for key in hub.keys() {
            if !listed.contains(key) && key.split('/').nth(1) == Some(year.as_str()) {
                response.changed.push(key.clone());
            }
        }
        response.changed.sort();
    }
    let mut touched: Vec<SheetId> = Vec::new();
    let mut states: HashMap<String, Vec<u8>> = HashMap::new();
    let mut changed = Vec::new();
    for SheetMessage { sheet: key, message } in req.messages {
        let id = match admit(store, agent, &key) {
            Ok(id) => id,
            Err(r) => {
                tracing::warn!(agent = %agent.id, sheet = %r.sheet, code = %r.code, "同步请求被拒绝");
                store.audit(&format!("agent:{}", agent.id), "sync_refused", &format!("{} {}", r.code, r.sheet))?;
                response.refused.push(r);
                continue;
            }
        };
        let msg = match sync::Message::decode(&message) {
            Ok(m) => m,
            Err(e) => {
                response.refused.push(refusal(&key, "bad_message", format!("同步消息格式错误：{e}")));
                continue;
            }
        };
        let mut state = load_state(store, &key, &agent.id)?;
        let sheet = store.sheet(&id)?;
        let before = sheet.heads();
        let received = sheet.doc_mut().sync().receive_sync_message(&mut state, msg);
        let verified =
            received.map_err(|e| e.to_string()).and_then(|()| sheet.verify_identity().map_err(|e| e.to_string()));
        if let Err(why) = verified {
            // The in-memory sheet may hold part of what was refused: drop it, keep the disk.
            store.docs.evict(std::slice::from_ref(&id));
            tracing::warn!(agent = %agent.id, sheet = %key, reason = %why, "拒绝了不合规的同步数据");
            store.audit(&format!("agent:{}", agent.id), "sync_rejected", &format!("{key}: {why}"))?;
            response.refused.push(refusal(&key, "doc_rejected", format!("同步数据不合规，已拒绝：{why}")));
            continue;
        }
        let sheet = store.sheet(&id)?;
        if sheet.heads() != before {
            changed.push(id.clone());
        }
        if let Some(reply) = sheet.doc_mut().sync().generate_sync_message(&mut state) {
            response.messages.push(SheetMessage { sheet: key.clone(), message: reply.encode() });
        }
        states.insert(key, state.encode());
        if !touched.contains(&id) {
            touched.push(id);
        }
    }
    store.commit_sheets(&touched, |tx| {
        for (key, state) in &states {
            tx.execute(
                "INSERT INTO sync_states (sheet, agent_id, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT(sheet, agent_id) DO UPDATE SET state = excluded.state",
                params![key, agent.id, state],
            )?;
        }
        Ok(())
    })?;
    // Workflow records after the data, so a submission's version is on the hub to check.
    let mut taken = Vec::new();
    for record in req.records {
        let Ok(id) = record.sheet.parse::<SheetId>() else { continue };
        let mut errors = None;
        let mut refuse = None;
        if let RecordKind::Event(e) = &record.kind {
            if !matches!(e.role, Role::Collector | Role::DeptHead) {
                tracing::warn!(agent = %agent.id, sheet = %record.sheet, "采集端试图记录中心端的审核操作");
                refuse = Some("采集端不能记录平台管理办公室或院长办公会的操作".to_string());
            } else if matches!(e.action, Action::Submit | Action::DeptApprove) {
                errors = errors_at(store, &id, &e.heads)?;
            }
        }
        taken.push(store.take_record(record, &format!("agent:{}", agent.id), errors, refuse)?);
    }
    if !taken.is_empty() {
        response.changed_records = true;
    }
    response.records = match req.records_since {
        Some(since) => store.department_records(&agent.department, since)?,
        None => taken,
    };
    Ok(Handled { response, changed })
}

/// Validation errors of a sheet at the version a submission names, when the hub has it.
fn errors_at(store: &mut HubStore, id: &SheetId, heads: &[String]) -> Result<Option<usize>, HubError> {
    let hashes: Vec<automerge::ChangeHash> = heads.iter().filter_map(|h| h.parse().ok()).collect();
    if hashes.is_empty() || hashes.len() != heads.len() {
        return Ok(None);
    }
    let edition = store.edition().clone();
    let Some(table) = edition.table(&id.table) else { return Ok(None) };
    let period = store.info().year.period(table.period);
    let sheet = store.sheet(id)?;
    if hashes.iter().any(|h| sheet.doc_mut().get_change_by_hash(h).is_none()) {
        return Ok(None);
    }
    let rows = sheet.live_rows_at(&hashes);
    let data: Vec<caiji_shared::validate::RowData> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| caiji_shared::validate::RowData { id: r.id.as_str(), row_no: i + 1, cells: &r.cells })
        .collect();
    let findings = caiji_shared::validate::check_sheet(&edition, table, period, None, &data);
    Ok(Some(findings.iter().filter(|f| f.is_error()).count()))
}

#[cfg(test)]
mod tests {
    use automerge::sync::{self, SyncDoc};
    use caiji_shared::catalog::DepartmentKind;
    use caiji_shared::sheet::{Edit, RowId, Sheet, SheetId};
    use caiji_shared::sync::{SheetHeads, SheetMessage, SyncRequest};
    use caiji_shared::{AcademicYear, Value};

    use super::handle;
    use crate::store::tests::info;
    use crate::store::{Agent, HubError, HubStore};

    fn setup() -> (tempfile::TempDir, HubStore, Agent) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = HubStore::init(dir.path(), &info(), "admin", "password-123").unwrap();
        s.add_department("jsjx", "计算机系", DepartmentKind::Teaching).unwrap();
        let code = s.new_enroll_code("jsjx", 1).unwrap();
        let (agent, _) = s.enroll(&code, "pc").unwrap();
        (dir, s, agent)
    }

    fn id() -> SheetId {
        SheetId::new("2016", AcademicYear(2025), "A6-1-1", "jsjx")
    }

    /// Runs the sync exchange of `local` with the hub until quiet or refused; returns the
    /// refusal codes.
    fn exchange(hub: &mut HubStore, agent: &Agent, local: &mut Sheet) -> Vec<String> {
        let mut state = sync::State::new();
        for _ in 0..8 {
            let Some(m) = local.doc_mut().sync().generate_sync_message(&mut state) else { break };
            let req = SyncRequest {
                messages: vec![SheetMessage { sheet: id().to_string(), message: m.encode() }],
                ..SyncRequest::default()
            };
            let handled = handle(hub, agent, req).unwrap();
            if !handled.response.refused.is_empty() {
                return handled.response.refused.into_iter().map(|r| r.code).collect();
            }
            for reply in handled.response.messages {
                local
                    .doc_mut()
                    .sync()
                    .receive_sync_message(&mut state, sync::Message::decode(&reply.message).unwrap())
                    .unwrap();
            }
        }
        Vec::new()
    }

    #[test]
    fn rows_from_an_agent_are_stored_and_summaries_compare_heads() {
        let (_dir, mut hub, agent) = setup();
        let mut local = Sheet::genesis(&id(), 1);
        local
            .add_row(Edit { user: "u", time: 1 }, &RowId::v7(1, [1; 10]), &[("emp_no".into(), Value::from("T1"))])
            .unwrap();
        assert!(exchange(&mut hub, &agent, &mut local).is_empty());
        assert_eq!(hub.sheet(&id()).unwrap().live_rows().len(), 1);
        let same = SheetHeads { sheet: id().to_string(), heads: local.heads_raw() };
        let req = SyncRequest { summary: Some(vec![same]), ..SyncRequest::default() };
        assert!(handle(&mut hub, &agent, req).unwrap().response.changed.is_empty(), "equal heads: nothing to do");
        let stale = SheetHeads { sheet: id().to_string(), heads: vec![] };
        let req = SyncRequest { summary: Some(vec![stale]), ..SyncRequest::default() };
        assert_eq!(handle(&mut hub, &agent, req).unwrap().response.changed, vec![id().to_string()]);
    }

    #[test]
    fn a_foreign_genesis_is_refused_and_nothing_is_stored() {
        let (_dir, mut hub, agent) = setup();
        let mut good = Sheet::genesis(&id(), 1);
        good.add_row(Edit { user: "u", time: 1 }, &RowId::v7(1, [1; 10]), &[("emp_no".into(), Value::from("T1"))])
            .unwrap();
        assert!(exchange(&mut hub, &agent, &mut good).is_empty());
        let before = hub.sheet(&id()).unwrap().save();
        // A document with the same content made with its own actor: a different history.
        let mut foreign = automerge::AutoCommit::new();
        {
            use automerge::transaction::Transactable;
            for (k, v) in [("caiji", "sheet"), ("edition", "2016"), ("table", "A6-1-1"), ("department", "jsjx")] {
                foreign.put(automerge::ROOT, k, v).unwrap();
            }
            foreign.put(automerge::ROOT, "year", 2025).unwrap();
            foreign.put(automerge::ROOT, "schema_version", 1).unwrap();
            foreign.put_object(automerge::ROOT, "rows", automerge::ObjType::Map).unwrap();
        }
        let mut foreign = Sheet::load(&foreign.save()).unwrap();
        assert_eq!(exchange(&mut hub, &agent, &mut foreign), ["doc_rejected"]);
        assert_eq!(hub.sheet(&id()).unwrap().save(), before, "memory reloaded from disk");
        let mut reopened = HubStore::open(hub.dir()).unwrap();
        assert_eq!(reopened.sheet(&id()).unwrap().live_rows().len(), 1);
    }

    #[test]
    fn another_department_is_forbidden_and_other_years_refused() {
        let (_dir, mut hub, agent) = setup();
        let other = SheetHeads { sheet: "2016/2025/A6-1-1/jwc".into(), heads: vec![] };
        let err = handle(&mut hub, &agent, SyncRequest { summary: Some(vec![other]), ..SyncRequest::default() })
            .err()
            .unwrap();
        assert!(matches!(err, HubError::NotYourDepartment(_)), "{err}");
        let old_year = SheetHeads { sheet: "2016/2024/A6-1-1/jsjx".into(), heads: vec![] };
        let bad_table = SheetHeads { sheet: "2016/2025/Z9/jsjx".into(), heads: vec![] };
        let handled = handle(
            &mut hub,
            &agent,
            SyncRequest { summary: Some(vec![old_year, bad_table]), ..SyncRequest::default() },
        )
        .unwrap();
        let codes: Vec<&str> = handled.response.refused.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["year_not_open", "no_such_table"]);
    }
}
