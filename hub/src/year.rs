//! The office's year-level steps: merge the accepted sheets into school-wide tables (listing
//! natural-key duplicates across departments and cross-table rule failures), lock every
//! merged sheet at its heads (changes after that are kept and listed, never included),
//! the final approval, and "who changed this number, and was it before or after approval".

use std::fmt::Write as _;

use caiji_shared::sheet::{Row, SheetId};
use caiji_shared::validate::{RowData, SheetData, check_tables};
use caiji_shared::workflow::{Action, RecordKind, State};

use crate::store::{HubError, HubStore, OfficeUser};

/// The heads a sheet was last locked at, if it was.
pub fn locked_heads(store: &HubStore, sheet: &SheetId) -> Result<Option<Vec<automerge::ChangeHash>>, HubError> {
    Ok(store.sheet_records(sheet)?.into_iter().rev().filter(|r| r.refused.is_none()).find_map(|r| match r.kind {
        RecordKind::Event(e) if e.action == Action::Lock => {
            Some(e.heads.iter().filter_map(|h| h.parse().ok()).collect())
        }
        _ => None,
    }))
}

/// A merged sheet's rows: at its locked version once locked, else as they are.
pub fn merged_rows(store: &mut HubStore, id: &SheetId) -> Result<Vec<Row>, HubError> {
    let heads = locked_heads(store, id)?;
    let sheet = store.sheet(id)?;
    Ok(match heads {
        Some(h) => sheet.live_rows_at(&h),
        None => sheet.live_rows(),
    })
}

/// The sheets of this year that exist for a table, by department (those the plan names).
pub fn sheets_of(store: &HubStore, table: &str) -> Result<Vec<SheetId>, HubError> {
    let info = store.info().clone();
    let mut out = Vec::new();
    for d in store.departments()? {
        if store.plan_for(&d.code)?.tables.iter().any(|t| t.table == table) {
            out.push(SheetId::new(&info.edition, info.year, table, &d.code));
        }
    }
    Ok(out)
}

/// Merges every accepted sheet of every table: records the merge and reports the school-wide
/// row counts, duplicates across departments and cross-table findings. Sheets not accepted yet
/// are listed as missing.
fn require(user: &OfficeUser, role: crate::store::OfficeRole, what: &str) -> Result<(), HubError> {
    if user.role != role {
        return Err(HubError::Forbidden(format!(
            "{}不能执行「{what}」",
            user.role.workflow().map_or("只读用户", |r| r.label())
        )));
    }
    Ok(())
}

pub fn merge(store: &mut HubStore, user: &OfficeUser) -> Result<String, HubError> {
    require(user, crate::store::OfficeRole::Admin, "汇总")?;
    let edition = store.edition().clone();
    let mut out = String::new();
    let mut merged: Vec<(SheetId, Vec<Row>)> = Vec::new();
    let mut waiting = Vec::new();
    for table in &edition.tables {
        for id in sheets_of(store, &table.id)? {
            match store.sheet_state(&id)? {
                State::Accepted => {
                    store.office_act(user, &id, Action::Merge, None, &[])?;
                    let rows = store.sheet(&id)?.live_rows();
                    merged.push((id, rows));
                }
                State::Merged | State::Locked | State::Approved | State::Reported => {
                    let rows = merged_rows(store, &id)?;
                    merged.push((id, rows));
                }
                other => waiting.push(format!("{} {}（{other}）", id.table, id.department)),
            }
        }
    }
    let data: Vec<SheetData> = merged
        .iter()
        .filter_map(|(id, rows)| {
            let table = edition.table(&id.table)?;
            let rows = rows
                .iter()
                .enumerate()
                .map(|(i, r)| RowData { id: r.id.as_str(), row_no: i + 1, cells: &r.cells })
                .collect();
            Some(SheetData { table, department: &id.department, rows })
        })
        .collect();
    let findings = check_tables(&edition, &data);
    let _ = writeln!(out, "已汇总 {} 张部门表：", merged.len());
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (id, rows) in &merged {
        *counts.entry(id.table.as_str()).or_default() += rows.len();
    }
    for t in &edition.tables {
        if let Some(n) = counts.get(t.id.as_str()) {
            let _ = writeln!(out, "  {}：全校 {n} 行", t.title());
        }
    }
    if !findings.is_empty() {
        let _ = writeln!(out, "需要处理的问题（重复的唯一标识、跨表校验），请退回相应部门的表：");
        for f in &findings {
            let _ = writeln!(out, "  {} {f}", f.severity.label());
        }
    }
    if !waiting.is_empty() {
        let _ = writeln!(out, "尚未通过审核、未汇总：{}", waiting.join("、"));
    }
    store.audit(
        &format!("user:{}", user.name),
        "merge",
        &format!("{} 张表，问题 {} 处", merged.len(), findings.len()),
    )?;
    Ok(out)
}

/// Locks every merged sheet (and re-locks sheets accepted again after an exception) at its
/// current heads.
pub fn lock(store: &mut HubStore, user: &OfficeUser) -> Result<String, HubError> {
    require(user, crate::store::OfficeRole::Admin, "锁定")?;
    let edition = store.edition().clone();
    let mut locked = Vec::new();
    for table in &edition.tables {
        for id in sheets_of(store, &table.id)? {
            let state = store.sheet_state(&id)?;
            let relock = state == State::Accepted && locked_heads(store, &id)?.is_some();
            if state == State::Merged || relock {
                store.office_act(user, &id, Action::Lock, None, &[])?;
                locked.push(format!("{} {}{}", id.table, id.department, if relock { "（重新锁定）" } else { "" }));
            }
        }
    }
    Ok(format!("已锁定 {} 张表：{}\n", locked.len(), locked.join("、")))
}

/// The final approval of every locked sheet.
pub fn approve(store: &mut HubStore, user: &OfficeUser) -> Result<String, HubError> {
    require(user, crate::store::OfficeRole::Approver, "院长办公会审定")?;
    let edition = store.edition().clone();
    let mut n = 0;
    let mut open = Vec::new();
    for table in &edition.tables {
        for id in sheets_of(store, &table.id)? {
            match store.sheet_state(&id)? {
                State::Locked => {
                    store.office_act(user, &id, Action::Approve, None, &[])?;
                    n += 1;
                }
                State::Approved | State::Reported => {}
                // A sheet nobody ever submitted has nothing to approve.
                State::Draft if store.sheet_records(&id)?.is_empty() => {}
                other => open.push(format!("{} {}（{other}）", id.table, id.department)),
            }
        }
    }
    let mut out = format!("院长办公会已审定 {n} 张表\n");
    if !open.is_empty() {
        let _ = writeln!(out, "未锁定、未审定：{}", open.join("、"));
    }
    Ok(out)
}

/// A workflow milestone of a sheet that fixed a version: a submission (the head's approval),
/// the office's acceptance, the lock or the final approval.
#[derive(Debug, Clone)]
pub struct Milestone {
    pub action: Action,
    /// The milestone as the history says it: 报送, 审核通过, 锁定, 审定.
    pub verb: &'static str,
    pub at: i64,
    pub actor: String,
}

/// One change of a cell, and whether each milestone's version includes it.
#[derive(Debug, Clone)]
pub struct CellChange {
    pub at: i64,
    /// Who made it ("未知" if the change does not say).
    pub user: String,
    pub old: Option<caiji_shared::Value>,
    pub new: Option<caiji_shared::Value>,
    /// For each milestone (in [`CellHistory::milestones`]' order), whether it came before it.
    pub before: Vec<bool>,
}

/// "Who changed this number", as data: the table, the row, the field, the milestones and the
/// cell's changes, oldest first.
#[derive(Debug, Clone)]
pub struct CellHistory {
    pub table: caiji_shared::Table,
    pub row: Row,
    pub field: caiji_shared::catalog::Field,
    pub milestones: Vec<Milestone>,
    pub changes: Vec<CellChange>,
}

impl CellChange {
    /// The change relative to the milestones, e.g. "报送（李主任）前，锁定（admin）后".
    pub fn notes(&self, milestones: &[Milestone]) -> String {
        milestones
            .iter()
            .zip(&self.before)
            .map(|(m, before)| format!("{}（{}）{}", m.verb, m.actor, if *before { "前" } else { "后" }))
            .collect::<Vec<_>>()
            .join("，")
    }
}

/// The history of one cell: who changed it, when, old → new, and whether each change came
/// before or after the sheet's submission, acceptance, lock and approval. The row is named by
/// its id, its natural key or its number.
pub fn cell_history(store: &mut HubStore, sheet: &SheetId, row: &str, field: &str) -> Result<CellHistory, HubError> {
    let table = store.table(&sheet.table)?.clone();
    let rows = store.sheet(sheet)?.rows();
    let target = crate::review::find_row(&table, &rows, row)?.clone();
    let f = crate::review::find_field(&table, field)?.clone();
    // The workflow milestones, with the heads they fixed (those that name none are left out).
    let fixed: Vec<(Milestone, Vec<automerge::ChangeHash>)> = store
        .sheet_records(sheet)?
        .into_iter()
        .filter(|r| r.refused.is_none())
        .filter_map(|r| match r.kind {
            RecordKind::Event(e)
                if matches!(e.action, Action::DeptApprove | Action::Accept | Action::Lock | Action::Approve) =>
            {
                let verb = match e.action {
                    Action::DeptApprove => "报送",
                    Action::Accept => "审核通过",
                    Action::Lock => "锁定",
                    _ => "审定",
                };
                let heads: Vec<automerge::ChangeHash> = e.heads.iter().filter_map(|h| h.parse().ok()).collect();
                Some((Milestone { action: e.action, verb, at: e.at, actor: e.actor }, heads))
            }
            _ => None,
        })
        .filter(|(_, heads)| !heads.is_empty())
        .collect();
    let doc = store.sheet(sheet)?;
    let history = doc.cell_history(&target.id, &f.id).map_err(|e| HubError::Invalid(e.to_string()))?;
    let mut changes = Vec::new();
    for e in history {
        let hash: automerge::ChangeHash =
            e.change.hash.parse().map_err(|_| HubError::Invalid("修改记录无效".into()))?;
        // A change is part of a milestone's version if it is among, or an ancestor of, its heads.
        let before = fixed
            .iter()
            .map(|(_, heads)| {
                doc.doc_mut().get_changes(heads).iter().all(|c| c.hash() != hash)
                    && doc.doc_mut().get_change_by_hash(&hash).is_some()
            })
            .collect();
        let user = if e.change.user.is_empty() { "未知".to_string() } else { e.change.user.clone() };
        changes.push(CellChange { at: e.change.time, user, old: e.old, new: e.new, before });
    }
    Ok(CellHistory { table, row: target, field: f, milestones: fixed.into_iter().map(|(m, _)| m).collect(), changes })
}

/// "Who changed this number, when, and was that before or after it was approved?"
pub fn who(store: &mut HubStore, sheet: &SheetId, row: &str, field: &str) -> Result<String, HubError> {
    let h = cell_history(store, sheet, row, field)?;
    let mut out = format!("{} {}「{}」的修改记录：\n", h.table.title(), row, h.field.label_text());
    let show = |v: &Option<caiji_shared::Value>| v.as_ref().map_or_else(|| "（空）".to_string(), |v| v.to_string());
    for c in &h.changes {
        let when = caiji_agent::cmd::local_time(c.at);
        let _ = writeln!(out, "  {when}  {}  {} → {}  {}", c.user, show(&c.old), show(&c.new), c.notes(&h.milestones));
    }
    Ok(out)
}

/// A school-wide table's merged departments and rows: (table, sheets, rows).
pub type TableCount = (String, usize, usize);

/// Whether a sheet's state is part of the school-wide tables.
pub fn is_merged(state: State) -> bool {
    matches!(state, State::Merged | State::Locked | State::Approved | State::Reported)
}

/// The school-wide table as data: every merged department's rows, by department. Refused
/// until at least one department's sheet of the table is merged. Audited as a view.
pub fn merged_table_rows(
    store: &mut HubStore,
    user: &OfficeUser,
    table: &str,
) -> Result<(caiji_shared::Table, Vec<(String, Row)>), HubError> {
    let t = store.table(table)?.clone();
    let mut out = Vec::new();
    let mut any_merged = false;
    for id in sheets_of(store, &t.id)? {
        if !is_merged(store.sheet_state(&id)?) {
            continue;
        }
        any_merged = true;
        for r in merged_rows(store, &id)? {
            out.push((id.department.clone(), r));
        }
    }
    if !any_merged {
        return Err(HubError::Forbidden(format!("{} 尚未汇总，汇总后才能查看全校数据", t.title())));
    }
    store.audit(&format!("user:{}", user.name), "view_merged", &t.id)?;
    Ok((t, out))
}

/// The problems of the school-wide tables as they stand (duplicates across departments and
/// cross-table findings), over the merged sheets; and the row counts per table.
pub fn merged_findings(
    store: &mut HubStore,
) -> Result<(Vec<caiji_shared::validate::Finding>, Vec<TableCount>), HubError> {
    let edition = store.edition().clone();
    let mut merged: Vec<(SheetId, Vec<Row>)> = Vec::new();
    let mut counts = Vec::new();
    for table in &edition.tables {
        let (mut sheets, mut rows) = (0, 0);
        for id in sheets_of(store, &table.id)? {
            if is_merged(store.sheet_state(&id)?) {
                let r = merged_rows(store, &id)?;
                sheets += 1;
                rows += r.len();
                merged.push((id, r));
            }
        }
        if sheets > 0 {
            counts.push((table.id.clone(), sheets, rows));
        }
    }
    let data: Vec<SheetData> = merged
        .iter()
        .filter_map(|(id, rows)| {
            let table = edition.table(&id.table)?;
            let rows = rows
                .iter()
                .enumerate()
                .map(|(i, r)| RowData { id: r.id.as_str(), row_no: i + 1, cells: &r.cells })
                .collect();
            Some(SheetData { table, department: &id.department, rows })
        })
        .collect();
    Ok((check_tables(&edition, &data), counts))
}

/// The school-wide table (all departments' rows of a table, at their locked version or as
/// merged), for the office and, once merged, for department heads (article 11).
pub fn merged_table(store: &mut HubStore, user: &OfficeUser, table: &str) -> Result<String, HubError> {
    let (t, rows) = merged_table_rows(store, user, table)?;
    let mut out = String::new();
    for (i, (department, r)) in rows.iter().enumerate() {
        let _ = writeln!(out, "{}\t{department}\t{}", i + 1, crate::review::row_summary(&t, r));
    }
    Ok(format!("{}：全校 {} 行\n{out}", t.title(), rows.len()))
}

/// Starts the next academic year: tables that carry over start from this year's approved
/// (locked) rows, the others empty; the plan stays; agents switch when they next sync.
pub fn rollover(store: &mut HubStore, user: &OfficeUser) -> Result<String, HubError> {
    require(user, crate::store::OfficeRole::Admin, "开始新学年")?;
    let edition = store.edition().clone();
    let old = store.info().clone();
    let next = old.year.next();
    let mut not_carried = Vec::new();
    let mut pending = Vec::new();
    for table in edition.tables.iter().filter(|t| t.carry_over) {
        for id in sheets_of(store, &table.id)? {
            match store.sheet_state(&id)? {
                State::Approved | State::Reported => {
                    let heads = locked_heads(store, &id)?.unwrap_or_default();
                    let rows: Vec<_> = store
                        .sheet(&id)?
                        .live_rows_at(&heads)
                        .into_iter()
                        .map(|r| (r.id, r.cells.into_iter().collect::<Vec<_>>()))
                        .collect();
                    pending.push((SheetId::new(&old.edition, next, &table.id, &id.department), rows));
                }
                State::Draft if store.sheet_records(&id)?.is_empty() => {}
                other => not_carried.push(format!("（{} {} 状态为「{other}」，未结转）", id.table, id.department)),
            }
        }
    }
    let mut touched = Vec::new();
    let mut n = 0;
    for (id, rows) in &pending {
        let edit = caiji_shared::sheet::Edit { user: &user.name, time: crate::store::now() };
        store
            .sheet(id)?
            .carry_over(edit, rows, &format!("从{}结转", old.year))
            .map_err(|e| HubError::Invalid(e.to_string()))?;
        touched.push(id.clone());
        n += rows.len();
    }
    store.commit_sheets(&touched, |tx| {
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'year'", [next.0.to_string()])?;
        tx.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'plan_version'", [])?;
        Ok(())
    })?;
    store.set_year(next);
    store.audit(
        &format!("user:{}", user.name),
        "rollover",
        &format!("{} → {}，结转 {} 张表 {n} 行", old.year, next, touched.len()),
    )?;
    let mut out = format!("已开始{next}：结转 {} 张表、{n} 行；不结转的表从空表开始\n", touched.len());
    for c in not_carried {
        let _ = writeln!(out, "{c}");
    }
    Ok(out)
}
