//! The department's workflow commands: users, submitting to the department head, the head's
//! return or approval (which submits to the office), and the comments the office left.

use std::fmt::Write as _;

use caiji_shared::Table;
use caiji_shared::validate::Tally;
use caiji_shared::workflow::{Action, Event, Record, RecordKind, Role, check_submittable};

use crate::cli::CliError;
use crate::cmd::sheet_findings;
use crate::store::{Store, now};

/// Checks a user's password (from `--password` or `CAIJI_PASSWORD`) and returns the role.
pub fn authenticate(store: &Store, user: &str, password: Option<&str>) -> Result<Role, CliError> {
    if !store.has_users()? {
        return Err(CliError::Usage(
            "还没有采集端用户：请先用 `caiji-agent user-add 姓名 --role collector|dept-head --password 密码` 创建"
                .into(),
        ));
    }
    let password = password
        .map(String::from)
        .or_else(|| std::env::var("CAIJI_PASSWORD").ok())
        .ok_or_else(|| CliError::Usage("请用 --password 或环境变量 CAIJI_PASSWORD 提供密码".into()))?;
    store.check_user(user, &password)?.ok_or_else(|| CliError::Usage(format!("用户「{user}」不存在或密码错误")))
}

pub fn user_add(store: &mut Store, name: &str, role: Role, password: &str) -> Result<String, CliError> {
    store.add_user(name, role, password)?;
    Ok(format!("已添加用户 {name}（{}）\n", role.label()))
}

/// Submits (collector → head), returns (head → collector) or approves and submits to the
/// office (head), as `user`.
pub fn act(
    store: &mut Store,
    user: &str,
    password: Option<&str>,
    table: &str,
    action: Action,
    reason: Option<String>,
) -> Result<String, CliError> {
    let role = authenticate(store, user, password)?;
    act_as(store, user, role, table, action, reason)
}

/// [`act`] for a person already authenticated (the web screens' session): checks the role and
/// the state, refuses a submission with validation errors, and writes the record.
pub fn act_as(
    store: &mut Store,
    user: &str,
    role: Role,
    table: &str,
    action: Action,
    reason: Option<String>,
) -> Result<String, CliError> {
    let t: Table = store.table(table)?.clone();
    if matches!(action, Action::Submit | Action::DeptApprove) {
        let (_, findings) = sheet_findings(store, &t.id)?;
        let tally = Tally::of(&findings);
        if let Err(e) = check_submittable(tally.errors) {
            let which: Vec<String> =
                findings.iter().filter(|f| f.is_error()).take(5).map(|f| format!("  {f}")).collect();
            let more = if tally.errors > 5 {
                format!("\n  ……共 {} 处，运行 `caiji-agent validate {}` 查看全部", tally.errors, t.id)
            } else {
                String::new()
            };
            return Err(CliError::Usage(format!("{} 未提交：{e}：\n{}{more}", t.title(), which.join("\n"))));
        }
    }
    let heads: Vec<String> = store.sheet(&t.id)?.heads().iter().map(ToString::to_string).collect();
    let event = Event { action, role, actor: user.to_string(), at: now(), reason, heads };
    let state = store.sheet_state(&t.id)?;
    let next = state.apply(&event).map_err(|e| CliError::Usage(format!("{}：{e}", t.title())))?;
    let record = Record {
        id: uuid::Uuid::now_v7().to_string(),
        sheet: store.sheet_id(&t.id).to_string(),
        kind: RecordKind::Event(event),
        seq: None,
        refused: None,
        late: false,
    };
    store.add_record(&record)?;
    let to_hub = if store.hub()?.is_some() { "，将随下次同步报送中心端" } else { "" };
    Ok(format!("{}：{}，状态由「{state}」变为「{next}」{to_hub}\n", t.title(), action.label()))
}

/// The comments on the department's sheets (or one table's), with their row and field.
pub fn comments(store: &mut Store, table: Option<String>) -> Result<String, CliError> {
    let tables: Vec<Table> = match &table {
        Some(t) => vec![store.table(t)?.clone()],
        None => store.edition().tables.clone(),
    };
    let mut out = String::new();
    for t in tables {
        let records = store.records(&store.sheet_id(&t.id))?;
        if records.is_empty() {
            continue;
        }
        let resolved: Vec<&str> = records
            .iter()
            .filter_map(|r| match &r.kind {
                RecordKind::Resolve { comment, .. } => Some(comment.as_str()),
                _ => None,
            })
            .collect();
        let rows = store.sheet(&t.id)?.live_rows();
        for r in &records {
            match &r.kind {
                RecordKind::Event(e) if e.reason.is_some() && r.refused.is_none() => {
                    let _ = writeln!(
                        out,
                        "{} {}（{}）：{}",
                        t.id,
                        e.action.label(),
                        e.actor,
                        e.reason.as_deref().unwrap_or("")
                    );
                }
                RecordKind::Comment(c) => {
                    let row = c
                        .row
                        .as_ref()
                        .and_then(|id| rows.iter().position(|x| x.id.as_str() == id))
                        .map(|n| format!(" 第{}行", n + 1));
                    let field = c.field.as_ref().and_then(|f| t.field(f)).map(|f| format!("「{}」", f.label_text()));
                    let state = if resolved.contains(&r.id.as_str()) { "已处理" } else { "待处理" };
                    let _ = writeln!(
                        out,
                        "{}{}{}：{}（{}，{state}，编号 {}）",
                        t.id,
                        row.unwrap_or_default(),
                        field.unwrap_or_default(),
                        c.text,
                        c.author,
                        &r.id
                    );
                }
                _ => {}
            }
        }
    }
    if out.is_empty() {
        out.push_str("没有批注。\n");
    }
    Ok(out)
}

/// Marks a comment as dealt with.
pub fn resolve(store: &mut Store, user: &str, password: Option<&str>, comment: &str) -> Result<String, CliError> {
    authenticate(store, user, password)?;
    resolve_as(store, user, comment)
}

/// [`resolve`] for a person already authenticated (the web screens' session).
pub fn resolve_as(store: &mut Store, user: &str, comment: &str) -> Result<String, CliError> {
    let found = store
        .edition()
        .tables
        .clone()
        .iter()
        .find_map(|t| {
            let sheet = store.sheet_id(&t.id);
            store
                .records(&sheet)
                .ok()?
                .into_iter()
                .find(|r| r.id == comment && matches!(r.kind, RecordKind::Comment(_)))
        })
        .ok_or_else(|| CliError::Usage(format!("没有编号为「{comment}」的批注")))?;
    let record = Record {
        id: uuid::Uuid::now_v7().to_string(),
        sheet: found.sheet.clone(),
        kind: RecordKind::Resolve { comment: comment.to_string(), by: user.to_string(), at: now() },
        seq: None,
        refused: None,
        late: false,
    };
    store.add_record(&record)?;
    Ok("已标记为已处理\n".into())
}

/// Whether the sheet changed after the version its head last submitted.
pub fn changed_since_submission(store: &mut Store, table: &str) -> Result<bool, CliError> {
    let id = store.sheet_id(table);
    let submitted = store.records(&id)?.into_iter().rev().filter(|r| r.refused.is_none()).find_map(|r| match r.kind {
        RecordKind::Event(e) if e.action == Action::DeptApprove => Some(e.heads),
        _ => None,
    });
    let Some(heads) = submitted else { return Ok(false) };
    let mut now: Vec<String> = store.sheet(table)?.heads().iter().map(ToString::to_string).collect();
    let mut then = heads;
    now.sort();
    then.sort();
    Ok(now != then)
}

/// The unresolved comments on one row: (field id, text).
pub fn row_comments(store: &mut Store, table: &str, row: &str) -> Result<Vec<(Option<String>, String)>, CliError> {
    let records = store.records(&store.sheet_id(table))?;
    let resolved: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Resolve { comment, .. } => Some(comment.clone()),
            _ => None,
        })
        .collect();
    Ok(records
        .into_iter()
        .filter(|r| !resolved.contains(&r.id))
        .filter_map(|r| match r.kind {
            RecordKind::Comment(c) if c.row.as_deref() == Some(row) => {
                Some((c.field, format!("{}（{}）", c.text, c.author)))
            }
            _ => None,
        })
        .collect())
}
