//! The office's review on the hub's command line: what was submitted, the version it names,
//! its problems, what changed since the previous submission and since this one; and the
//! actions (open, return with comments, accept).

use std::fmt::Write as _;

use caiji_shared::catalog::{Field, Table};
use caiji_shared::sheet::{Row, Sheet, SheetDiff, SheetId};
use caiji_shared::validate::{RowData, check_sheet};
use caiji_shared::workflow::{Action, RecordKind};

use crate::store::{HubError, HubStore, OfficeUser};

fn hashes(heads: &[String]) -> Vec<automerge::ChangeHash> {
    heads.iter().filter_map(|h| h.parse().ok()).collect()
}

/// The heads named by the sheet's accepted submissions (head approvals), oldest first.
pub fn submissions(store: &HubStore, sheet: &SheetId) -> Result<Vec<Vec<String>>, HubError> {
    Ok(store
        .sheet_records(sheet)?
        .into_iter()
        .filter(|r| r.refused.is_none())
        .filter_map(|r| match r.kind {
            RecordKind::Event(e) if e.action == Action::DeptApprove => Some(e.heads),
            _ => None,
        })
        .collect())
}

fn render_diff(store: &HubStore, table: &str, d: &SheetDiff, out: &mut String) {
    let t = store.edition().table(table);
    let label = |f: &str| t.and_then(|t| t.field(f)).map(|f| f.label_text()).unwrap_or_else(|| f.to_string());
    let key = |cells: &std::collections::BTreeMap<String, caiji_shared::Value>| {
        t.map(|t| {
            t.key.iter().map(|k| cells.get(k).map(|v| v.to_string()).unwrap_or_default()).collect::<Vec<_>>().join("+")
        })
        .unwrap_or_default()
    };
    for r in &d.added {
        let _ = writeln!(out, "    新增 {}", key(&r.cells));
    }
    for r in &d.removed {
        let _ = writeln!(out, "    删除 {}", key(&r.cells));
    }
    for c in &d.changed {
        for cell in &c.cells {
            let show =
                |v: &Option<caiji_shared::Value>| v.as_ref().map_or_else(|| "（空）".to_string(), |v| v.to_string());
            let _ = writeln!(
                out,
                "    修改 行{}「{}」：{} → {}",
                &c.row.0[..8.min(c.row.0.len())],
                label(&cell.field),
                show(&cell.old),
                show(&cell.new)
            );
        }
    }
    if d.is_empty() {
        let _ = writeln!(out, "    （无变化）");
    }
}

/// What the office reviews of one sheet, as data (the text of [`show`] and the web page).
pub struct Submission {
    pub state: caiji_shared::workflow::State,
    pub records: Vec<caiji_shared::workflow::Record>,
    /// How many accepted submissions there were.
    pub count: usize,
    /// The rows at the last submission's heads (empty if never submitted).
    pub rows: Vec<Row>,
    pub findings: Vec<caiji_shared::validate::Finding>,
    /// The diff from the previous submission, if there was one.
    pub previous: Option<SheetDiff>,
    /// Changes after the submission, or (once locked) after the lock: `(locked, diff)`.
    pub since: Option<(bool, SheetDiff)>,
}

/// A sheet's submission as data: the version, its problems, the diff from the previous one
/// and what changed since.
pub fn submission(store: &mut HubStore, sheet: &SheetId) -> Result<Submission, HubError> {
    let edition = store.edition().clone();
    let table = edition.table(&sheet.table).ok_or_else(|| HubError::NoTable(sheet.table.clone()))?;
    let records = store.sheet_records(sheet)?;
    let state = caiji_shared::workflow::state_of(&records);
    let subs = submissions(store, sheet)?;
    let mut out =
        Submission { state, records, count: subs.len(), rows: vec![], findings: vec![], previous: None, since: None };
    let Some(last) = subs.last() else { return Ok(out) };
    let at = hashes(last);
    let period = store.info().year.period(table.period);
    let sheet_doc = store.sheet(sheet)?;
    out.rows = sheet_doc.live_rows_at(&at);
    let data: Vec<RowData> = out
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| RowData { id: r.id.as_str(), row_no: i + 1, cells: &r.cells })
        .collect();
    out.findings = check_sheet(&edition, table, period, Some(&sheet.department), &data);
    // Each version is read once (reading 10,000 rows at some heads is the slow part).
    let previous: Vec<automerge::ChangeHash> = subs.len().checked_sub(2).map(|i| hashes(&subs[i])).unwrap_or_default();
    if !previous.is_empty() {
        out.previous = Some(Sheet::diff_rows(&sheet_doc.live_rows_at(&previous), &out.rows));
    }
    let locked = crate::year::locked_heads(store, sheet)?;
    let sheet_doc = store.sheet(sheet)?;
    let now = sheet_doc.heads();
    let since = match &locked {
        Some(l) if *l == now => SheetDiff::default(),
        Some(l) => sheet_doc.diff(l, &now),
        None if at == now => SheetDiff::default(),
        None => Sheet::diff_rows(&out.rows, &sheet_doc.live_rows()),
    };
    out.since = (!since.is_empty()).then_some((locked.is_some(), since));
    Ok(out)
}

/// A submission as the office reviews it.
pub fn show(store: &mut HubStore, sheet: &SheetId) -> Result<String, HubError> {
    let table = store.table(&sheet.table)?.clone();
    let sub = submission(store, sheet)?;
    let mut out = format!("{}（{}）：{}\n", table.title(), sheet.department, sub.state);
    for r in &sub.records {
        let line = match &r.kind {
            RecordKind::Event(e) => format!(
                "{} {}{}{}",
                e.actor,
                e.action.label(),
                e.reason.as_ref().map(|x| format!("：{x}")).unwrap_or_default(),
                if r.late { "（逾期）" } else { "" }
            ),
            RecordKind::Comment(c) => format!("{} 批注：{}", c.author, c.text),
            RecordKind::Resolve { by, .. } => format!("{by} 已处理一条批注"),
        };
        let refused = r.refused.as_ref().map(|x| format!(" 〔未生效：{x}〕")).unwrap_or_default();
        let _ = writeln!(out, "  #{} {line}{refused}", r.seq.unwrap_or(0));
    }
    if sub.count == 0 {
        let _ = writeln!(out, "尚未报送。");
        return Ok(out);
    }
    let findings = &sub.findings;
    let _ = writeln!(
        out,
        "报送版本：{} 行，错误 {} 处，警告 {} 处",
        sub.rows.len(),
        findings.iter().filter(|f| f.is_error()).count(),
        findings.iter().filter(|f| !f.is_error()).count()
    );
    for f in findings.iter().take(20) {
        let _ = writeln!(out, "    {} {f}", f.severity.label());
    }
    match &sub.previous {
        None => {
            let _ = writeln!(out, "与上次报送相比：（首次报送，以上为全部数据）");
        }
        Some(d) => {
            let _ = writeln!(out, "与上次报送相比：");
            render_diff(store, &sheet.table, d, &mut out);
        }
    }
    if let Some((locked, d)) = &sub.since {
        let _ = writeln!(
            out,
            "{}",
            if *locked {
                "锁定后的修改（已保存，不在上报数据中）："
            } else {
                "报送后又有修改（不在本次报送中）："
            }
        );
        render_diff(store, &sheet.table, d, &mut out);
    }
    Ok(out)
}

/// Every sheet of the year with its state, by department.
pub fn list(store: &HubStore, department: Option<&str>) -> Result<String, HubError> {
    let mut out = String::new();
    for d in store.departments()? {
        if department.is_some_and(|x| x != d.code) {
            continue;
        }
        let plan = store.plan_for(&d.code)?;
        let _ = writeln!(out, "{}（{}）", d.name, d.code);
        for t in plan.tables {
            let id = SheetId::new(&store.info().edition, store.info().year, &t.table, &d.code);
            let state = store.sheet_state(&id)?;
            let late = store.sheet_records(&id)?.iter().any(|r| r.late && r.refused.is_none());
            let name = store.edition().table(&t.table).map(|x| x.name.clone()).unwrap_or_default();
            let _ = writeln!(out, "  {} {name}：{state}{}", t.table, if late { "（逾期报送）" } else { "" });
        }
    }
    Ok(out)
}

/// Parses `行:字段:批注` (row by natural key or number, field by label or id; either may be
/// empty for a comment on the sheet or a whole row).
pub fn parse_comment(
    store: &mut HubStore,
    sheet: &SheetId,
    spec: &str,
) -> Result<(Option<String>, Option<String>, String), HubError> {
    let mut parts = spec.splitn(3, [':', '：']);
    let (row, field, text) = match (parts.next(), parts.next(), parts.next()) {
        (Some(r), Some(f), Some(t)) => (r.trim(), f.trim(), t.trim()),
        (Some(t), None, None) => ("", "", t.trim()),
        _ => {
            return Err(HubError::Invalid(format!("批注「{spec}」应写成 行:字段:内容，如 T002:出生日期:与身份证不符")));
        }
    };
    let table = store.table(&sheet.table)?.clone();
    let rows = store.sheet(sheet)?.live_rows();
    let row_id = if row.is_empty() { None } else { Some(find_row(&table, &rows, row)?.id.0.clone()) };
    let field_id = if field.is_empty() { None } else { Some(find_field(&table, field)?.id.clone()) };
    Ok((row_id, field_id, text.to_string()))
}

/// An office action from the command line.
pub fn act(
    store: &mut HubStore,
    user: &OfficeUser,
    sheet: &SheetId,
    action: Action,
    reason: Option<&str>,
    comments: &[String],
) -> Result<String, HubError> {
    let parsed = comments.iter().map(|c| parse_comment(store, sheet, c)).collect::<Result<Vec<_>, _>>()?;
    let before = store.sheet_state(sheet)?;
    store.office_act(user, sheet, action, reason, &parsed)?;
    let after = store.sheet_state(sheet)?;
    Ok(format!(
        "{} {}（{}）：{}，状态由「{before}」变为「{after}」{}\n",
        sheet.table,
        sheet.department,
        user.name,
        action.label(),
        if parsed.is_empty() { String::new() } else { format!("，附批注 {} 条", parsed.len()) }
    ))
}

/// A row by its id (as the web screens link it), its natural key value ("T001", or
/// "510201+01") or, among live rows, its number.
pub fn find_row<'r>(table: &Table, rows: &'r [Row], spec: &str) -> Result<&'r Row, HubError> {
    if let Some(r) = rows.iter().find(|r| r.id.0 == spec) {
        return Ok(r);
    }
    let key = |r: &Row| {
        table
            .key
            .iter()
            .map(|k| r.cells.get(k).map(|v| v.to_string()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("+")
    };
    rows.iter()
        .find(|r| key(r) == spec)
        .or_else(|| spec.parse::<usize>().ok().and_then(|n| rows.iter().filter(|r| !r.deleted).nth(n.wrapping_sub(1))))
        .ok_or_else(|| HubError::Invalid(format!("{} 没有「{spec}」这一行", table.title())))
}

/// A field by id, full label or, as the template's last header level, its last label part.
pub fn find_field<'t>(table: &'t Table, spec: &str) -> Result<&'t Field, HubError> {
    table
        .fields
        .iter()
        .find(|f| f.id == spec || f.label_text() == spec || f.label.last().is_some_and(|l| l == spec))
        .ok_or_else(|| HubError::Invalid(format!("{} 没有字段「{spec}」", table.title())))
}

/// A row in one line: its first six filled fields as 标签=值.
pub fn row_summary(table: &Table, row: &Row) -> String {
    let cells: Vec<String> = table
        .fields
        .iter()
        .filter_map(|f| row.cells.get(&f.id).map(|v| format!("{}={v}", f.label_text())))
        .take(6)
        .collect();
    cells.join("  ")
}
