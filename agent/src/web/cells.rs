//! The grid's endpoints: check typed text (as one types), save a cell, add and (soft) delete
//! rows, and a cell's history. Writes go through the store as the signed-in person; a value
//! that fails validation is stored as typed and flagged, as an import does, so nothing typed
//! is lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caiji_shared::catalog::{Field, Table};
use caiji_shared::sheet::{Edit, RowId};
use caiji_shared::validate::{CellCheck, Finding, Issue, RowData, check_cell, check_row_rules};
use caiji_shared::{Severity, Value};
use maud::html;
use serde::{Deserialize, Serialize};

use super::grid::{self, Checked};
use super::{Session, WebState, frame, with_store};
use crate::store::{Store, StoreError, now};
use crate::webkit::{self, CsrfForm, CsrfJson, WebError};

/// The longest text a cell takes from the grid.
const MAX_TEXT: usize = 2000;

#[derive(Deserialize)]
pub struct CheckBody {
    field: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
pub struct SaveBody {
    row: String,
    field: String,
    #[serde(default)]
    text: String,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Message {
    /// "error" or "warning".
    pub severity: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct CellReply {
    /// The value as stored (normalised), shown in the cell.
    value: String,
    messages: Vec<Message>,
    /// "A6-1-1 第3行「出生日期」".
    place: String,
    saved: bool,
}

fn json_err(e: WebError) -> Response {
    webkit::json_error(e.status, e.message)
}

/// The script's JSON body; a malformed one is refused with a message naming the table (CSRF
/// and session refusals pass through unchanged).
fn body_of<T>(table: &str, body: Result<CsrfJson<T>, Response>) -> Result<T, Box<Response>> {
    match body {
        Ok(CsrfJson(v)) => Ok(v),
        Err(r) if r.status() == StatusCode::BAD_REQUEST => Err(Box::new(webkit::json_error(
            StatusCode::BAD_REQUEST,
            format!("{table}：提交的数据格式不对，未保存；请刷新页面后重试"),
        ))),
        Err(r) => Err(Box::new(r)),
    }
}

/// A script's request on `table`: its JSON body (refused as [`body_of`] says), then `f` on the
/// store; the reply, or the error, as JSON.
async fn json_call<B: Send + 'static, T: Serialize + Send + 'static>(
    state: &Arc<WebState>,
    table: String,
    body: Result<CsrfJson<B>, Response>,
    f: impl FnOnce(&mut Store, &WebState, &str, B) -> Result<T, WebError> + Send + 'static,
) -> Response {
    let body = match body_of(&table, body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let st = state.clone();
    match with_store(state, move |s| f(s, &st, &table, body)).await {
        Ok(reply) => axum::Json(reply).into_response(),
        Err(e) => json_err(e),
    }
}

pub fn message(i: &Issue) -> Message {
    let severity = if i.severity == Severity::Error { "error" } else { "warning" };
    Message { severity, message: i.message.clone() }
}

fn message_of(f: &Finding) -> Message {
    Message { severity: if f.is_error() { "error" } else { "warning" }, message: f.message.clone() }
}

fn field<'t>(t: &'t Table, id: &str) -> Result<&'t Field, WebError> {
    t.field(id).ok_or_else(|| WebError::bad_request(format!("{} 没有字段「{id}」，请刷新页面后重试", t.title())))
}

/// Refuses text longer than a cell takes; `place` names the cell, e.g. "A6-1-1 第3行「姓名」".
fn too_long(place: &str, text: &str) -> Result<(), WebError> {
    if text.chars().count() > MAX_TEXT {
        return Err(WebError::bad_request(format!("{place}：内容太长（超过 {MAX_TEXT} 个字），未保存")));
    }
    Ok(())
}

/// Checks typed text with the shared validator (nothing is stored).
pub async fn check(
    State(state): State<Arc<WebState>>,
    _session: Session,
    Path(id): Path<String>,
    body: Result<CsrfJson<CheckBody>, Response>,
) -> Response {
    json_call(&state, id, body, |s, _, id, body| {
        let t = s.table(id)?.clone();
        let f = field(&t, &body.field)?;
        too_long(&format!("{}「{}」", t.id, f.label_text()), &body.text)?;
        let period = s.info().year.period(t.period);
        let c = check_cell(s.edition(), f, period, &body.text);
        let value = c.value.as_ref().map(Value::to_string).unwrap_or_default();
        let messages: Vec<Message> = c.issues.iter().map(message).collect();
        Ok(CellReply { value, messages, place: format!("{}「{}」", t.id, f.label_text()), saved: false })
    })
    .await
}

/// What a cell stores of typed `text`: the checked value, or the text as typed when it fails
/// (so nothing typed is lost; the finding stays until it is fixed).
fn to_store(c: &CellCheck, text: &str) -> Option<Value> {
    match (c.value.clone(), c.has_errors()) {
        (Some(v), _) => Some(v),
        (None, true) if !text.trim().is_empty() => Some(Value::Text(text.trim().to_string())),
        (None, _) => None,
    }
}

/// The sheet may be edited now, or the Chinese reason why not.
fn editable(s: &Store, t: &Table) -> Result<(), WebError> {
    let state = s.sheet_state(&t.id)?;
    match super::tables::locked_reason(state) {
        None => Ok(()),
        Some(why) => Err(WebError::new(StatusCode::CONFLICT, format!("{}：{why}", t.title()))),
    }
}

/// Saves one cell as the signed-in person and returns what is stored and its problems.
pub async fn save(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path(id): Path<String>,
    body: Result<CsrfJson<SaveBody>, Response>,
) -> Response {
    json_call(&state, id, body, move |s, st, id, body| save_cell(s, &st.grid, &session.user, id, &body)).await
}

fn save_cell(
    s: &mut Store,
    cache: &Mutex<Option<Checked>>,
    user: &str,
    table: &str,
    body: &SaveBody,
) -> Result<CellReply, WebError> {
    let t = s.table(table)?.clone();
    let f = field(&t, &body.field)?.clone();
    editable(s, &t)?;
    // The grid's rows (read once per sheet state, not on every keystroke's save).
    let (rows, _) = grid::checked(s, cache, &t)?;
    let Some((n, row)) = rows.iter().filter(|r| !r.deleted).enumerate().find(|(_, r)| r.id.as_str() == body.row) else {
        return Err(WebError::not_found(format!("{} 中没有这一行（可能已被删除），请刷新页面", t.title())));
    };
    let row = row.clone();
    drop(rows);
    let place = format!("{} 第{}行「{}」", t.id, n + 1, f.label_text());
    too_long(&place, &body.text)?;
    let period = s.info().year.period(t.period);
    let c = check_cell(s.edition(), &f, period, &body.text);
    let value = to_store(&c, &body.text);
    let mut saved = false;
    if row.cells.get(&f.id) != value.as_ref() {
        let edit = Edit { user, time: now() };
        let rid = row.id.clone();
        let before = s.sheet(&t.id)?.heads();
        s.write(user, |w| {
            w.sheet(&t.id)?.set_cell(edit, &rid, &f.id, value.as_ref()).map_err(StoreError::sheet(&t.id))?;
            Ok(())
        })?;
        grid::patch(s, cache, &t, &before, &[rid]);
        saved = true;
    }
    let mut messages: Vec<Message> = c.issues.iter().map(message).collect();
    // Row rules that name this field (e.g. a date before another).
    let mut cells = row.cells.clone();
    match &value {
        Some(v) => cells.insert(f.id.clone(), v.clone()),
        None => cells.remove(&f.id),
    };
    let dept = s.info().department_name.clone();
    let data = RowData { id: row.id.as_str(), row_no: n + 1, cells: &cells };
    for finding in check_row_rules(&t, Some(&dept), &data) {
        if finding.field.as_deref() == Some(f.id.as_str()) && !messages.iter().any(|m| m.message == finding.message) {
            messages.push(message_of(&finding));
        }
    }
    let shown = value.as_ref().map(Value::to_string).unwrap_or_default();
    Ok(CellReply { value: shown, messages, place, saved })
}

/// The most cells one paste takes.
const MAX_PASTE: usize = 20_000;

#[derive(Deserialize)]
pub struct PasteBody {
    /// The rows pasted into, from the current one down, as the grid shows them.
    rows: Vec<String>,
    /// The fields pasted into, from the current one rightwards.
    fields: Vec<String>,
    /// The pasted block (as Excel copies it: rows of cells); rows beyond `rows` become new
    /// rows at the end of the sheet when `append` is set.
    cells: Vec<Vec<String>>,
    #[serde(default)]
    append: bool,
}

#[derive(Serialize)]
struct PastedCell {
    row: String,
    field: String,
    value: String,
    messages: Vec<Message>,
}

/// One existing row of a paste: its id, the cells that change, and every pasted cell as shown.
type RowPaste = (RowId, Vec<(String, Option<Value>)>, Vec<PastedCell>);

#[derive(Serialize)]
struct PasteReply {
    message: String,
    /// The cells of existing rows as stored now (new rows show after a reload).
    cells: Vec<PastedCell>,
    added: usize,
}

/// Pastes a block copied from Excel (or the grid) into the sheet, from the current cell: all
/// of it in one stored write, or nothing (a block that does not fit, a deleted row or a text
/// too long is refused whole). Each cell is checked as if typed.
pub async fn paste(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path(id): Path<String>,
    body: Result<CsrfJson<PasteBody>, Response>,
) -> Response {
    json_call(&state, id, body, move |s, st, id, body| paste_cells(s, &st.grid, &session.user, id, &body)).await
}

fn paste_cells(
    s: &mut Store,
    cache: &Mutex<Option<Checked>>,
    user: &str,
    table: &str,
    body: &PasteBody,
) -> Result<PasteReply, WebError> {
    let t = s.table(table)?.clone();
    editable(s, &t)?;
    let fields: Vec<Field> = body.fields.iter().map(|f| field(&t, f).cloned()).collect::<Result<_, _>>()?;
    let total: usize = body.cells.iter().map(Vec::len).sum();
    if total == 0 {
        return Err(WebError::bad_request(format!("{}：剪贴板里没有可粘贴的内容", t.id)));
    }
    if total > MAX_PASTE {
        return Err(WebError::bad_request(format!(
            "{}：一次最多粘贴 {MAX_PASTE} 个单元格，这次有 {total} 个；请分几次粘贴，或使用“导入”",
            t.id
        )));
    }
    let width = body.cells.iter().map(Vec::len).max().unwrap_or(0);
    if fields.is_empty() {
        return Err(WebError::bad_request(format!("{}：没有指定要粘贴到的字段，未粘贴；请刷新页面后重试", t.id)));
    }
    if width > fields.len() {
        let from = fields.first().map(|f| f.label_text()).unwrap_or_default();
        return Err(WebError::bad_request(format!(
            "{}：粘贴的内容有 {width} 列，从「{from}」往右只有 {} 列；未粘贴，请选定靠左的单元格再粘贴",
            t.id,
            fields.len()
        )));
    }
    let extra = body.cells.len().saturating_sub(body.rows.len());
    if extra > 0 && !body.append {
        return Err(WebError::bad_request(format!(
            "{}：粘贴的内容有 {} 行，从当前行往下本页只有 {} 行；未粘贴。要在末尾新增行，请清除筛选并翻到最后一页再粘贴",
            t.id,
            body.cells.len(),
            body.rows.len()
        )));
    }
    // The rows pasted into, as the user sees them numbered.
    let (rows, _) = grid::checked(s, cache, &t)?;
    let live: HashMap<&str, (usize, &caiji_shared::sheet::Row)> =
        rows.iter().filter(|r| !r.deleted).enumerate().map(|(i, r)| (r.id.as_str(), (i, r))).collect();
    let mut targets = Vec::new();
    for id in body.rows.iter().take(body.cells.len()) {
        let Some(&(n, r)) = live.get(id.as_str()) else {
            return Err(WebError::not_found(format!(
                "{} 中没有要粘贴的某一行（可能已被删除），未粘贴；请刷新页面",
                t.title()
            )));
        };
        targets.push((n + 1, r.clone()));
    }
    let first_new = live.len() + 1;
    drop(rows);
    let period = s.info().year.period(t.period);
    let dept = s.info().department_name.clone();
    // Each pasted cell checked as typed; the text too long for a cell refuses the paste.
    let mut updates: Vec<RowPaste> = Vec::new();
    let mut new_rows: Vec<(RowId, Vec<(String, Value)>)> = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    for (i, line) in body.cells.iter().enumerate() {
        let existing = targets.get(i);
        let n = existing.map_or(first_new + i - targets.len(), |(n, _)| *n);
        let mut cells = Vec::new();
        let mut shown = Vec::new();
        for (text, f) in line.iter().zip(&fields) {
            let place = format!("{} 第{n}行「{}」", t.id, f.label_text());
            too_long(&place, text)?;
            let c = check_cell(s.edition(), f, period, text);
            errors += c.issues.iter().filter(|i| i.severity == Severity::Error).count();
            warnings += c.issues.iter().filter(|i| i.severity != Severity::Error).count();
            let value = to_store(&c, text);
            shown.push(PastedCell {
                row: String::new(),
                field: f.id.clone(),
                value: value.as_ref().map(Value::to_string).unwrap_or_default(),
                messages: c.issues.iter().map(message).collect(),
            });
            cells.push((f.id.clone(), value));
        }
        match existing {
            Some((_, r)) => {
                // Row rules that name a pasted field (e.g. a sum), on the row as it will be.
                let mut after = r.cells.clone();
                for (f, v) in &cells {
                    match v {
                        Some(v) => after.insert(f.clone(), v.clone()),
                        None => after.remove(f),
                    };
                }
                let data = RowData { id: r.id.as_str(), row_no: n, cells: &after };
                for finding in check_row_rules(&t, Some(&dept), &data) {
                    let Some(c) = shown.iter_mut().find(|c| finding.field.as_deref() == Some(c.field.as_str())) else {
                        continue;
                    };
                    if c.messages.iter().all(|m| m.message != finding.message) {
                        if finding.is_error() {
                            errors += 1
                        } else {
                            warnings += 1
                        }
                        c.messages.push(message_of(&finding));
                    }
                }
                let changed: Vec<(String, Option<Value>)> =
                    cells.into_iter().filter(|(f, v)| r.cells.get(f) != v.as_ref()).collect();
                shown.iter_mut().for_each(|c| c.row = r.id.0.clone());
                updates.push((r.id.clone(), changed, shown));
            }
            None => {
                let rid = RowId(uuid::Uuid::now_v7().to_string());
                new_rows.push((rid, cells.into_iter().filter_map(|(f, v)| Some((f, v?))).collect()));
            }
        }
    }
    let edit = Edit { user, time: now() };
    let before = s.sheet(&t.id)?.heads();
    s.write(user, |w| {
        let sheet = w.sheet(&t.id)?;
        for (rid, cells, _) in updates.iter().filter(|(_, c, _)| !c.is_empty()) {
            sheet.update_row(edit, rid, cells, Some("粘贴")).map_err(StoreError::sheet(&t.id))?;
        }
        for (rid, cells) in &new_rows {
            sheet.add_row(edit, rid, cells).map_err(StoreError::sheet(&t.id))?;
        }
        Ok(())
    })?;
    let changed: Vec<RowId> = updates
        .iter()
        .filter(|(_, c, _)| !c.is_empty())
        .map(|(r, _, _)| r.clone())
        .chain(new_rows.iter().map(|(r, _)| r.clone()))
        .collect();
    grid::patch(s, cache, &t, &before, &changed);
    let rows_n = body.cells.len();
    let mut message = format!("已粘贴 {total} 个单元格（{rows_n} 行");
    if !new_rows.is_empty() {
        message.push_str(&format!("，其中新增 {} 行", new_rows.len()));
    }
    message.push('）');
    if errors > 0 || warnings > 0 {
        message.push_str(&format!("；{errors} 个错误、{warnings} 个警告，已标在单元格上"));
    }
    Ok(PasteReply { message, cells: updates.into_iter().flat_map(|(_, _, c)| c).collect(), added: new_rows.len() })
}

#[derive(Deserialize)]
pub struct AddForm {}

/// Adds an empty row at the end and shows it.
pub async fn add_row(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<AddForm>,
) -> Result<Response, WebError> {
    let st = state.clone();
    with_store(&state, move |s| {
        let t = s.table(&id)?.clone();
        editable(s, &t)?;
        let rid = RowId(uuid::Uuid::now_v7().to_string());
        let edit = Edit { user: &session.user, time: now() };
        let before = s.sheet(&t.id)?.heads();
        s.write(&session.user, |w| {
            w.sheet(&t.id)?.add_row(edit, &rid, &[]).map_err(StoreError::sheet(&t.id))?;
            Ok(())
        })?;
        grid::patch(s, &st.grid, &t, &before, std::slice::from_ref(&rid));
        let n = s.sheet(&t.id)?.live_count_now();
        let to = format!("/tables/{}?focus={}", t.id, rid.as_str());
        Ok(super::SITE.redirect_with(&to, webkit::ok(format!("已在 {} 新增第{n}行，请填写", t.id))))
    })
    .await
}

#[derive(Deserialize)]
pub struct DeleteBody {
    row: String,
    #[serde(default)]
    restore: bool,
}

/// Soft-deletes (or restores) a row.
pub async fn delete_row(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path(id): Path<String>,
    body: Result<CsrfJson<DeleteBody>, Response>,
) -> Response {
    json_call(&state, id, body, move |s, _, id, body| {
        let t = s.table(id)?.clone();
        editable(s, &t)?;
        let all = s.sheet(&t.id)?.rows();
        let Some(row) = all.iter().find(|r| r.id.as_str() == body.row) else {
            return Err(WebError::not_found(format!("{} 中没有这一行，请刷新页面", t.title())));
        };
        let n = all.iter().filter(|r| !r.deleted).position(|r| r.id == row.id).map(|i| i + 1);
        let edit = Edit { user: &session.user, time: now() };
        let rid = row.id.clone();
        s.write(&session.user, |w| {
            let sheet = w.sheet(&t.id)?;
            let r = if body.restore { sheet.restore_row(edit, &rid) } else { sheet.delete_row(edit, &rid) };
            r.map_err(StoreError::sheet(&t.id))
        })?;
        let what = n.map_or_else(|| "这一行".to_string(), |n| format!("第{n}行"));
        let message = if body.restore {
            format!("已恢复 {} {what}", t.id)
        } else {
            format!("已删除 {} {what}（可在“已删除的行”中恢复）", t.id)
        };
        Ok(serde_json::json!({ "message": message }))
    })
    .await
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    row: Option<String>,
    field: Option<String>,
}

/// Who changed a cell, when, from what to what.
pub async fn history(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, WebError> {
    with_store(&state, move |s| {
        let t = s.table(&id)?.clone();
        let f = field(&t, q.field.as_deref().unwrap_or(""))?.clone();
        let all = s.sheet(&t.id)?.rows();
        let Some(row) = all.iter().find(|r| Some(r.id.as_str()) == q.row.as_deref()) else {
            return Err(WebError::not_found(format!("{} 中没有这一行", t.title())));
        };
        let n = all.iter().filter(|r| !r.deleted).position(|r| r.id == row.id).map(|i| i + 1);
        let edits = s.sheet(&t.id)?.cell_history(&row.id, &f.id).map_err(StoreError::sheet(&t.id))?;
        let mut lines = Vec::new();
        for e in edits.iter().rev() {
            let who = if e.change.user.is_empty() {
                s.user_of_actor(&e.change.actor)?.unwrap_or_else(|| "未知".to_string())
            } else {
                e.change.user.clone()
            };
            lines.push((who, e));
        }
        let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "（空）".to_string(), Value::to_string);
        let place = match n {
            Some(n) => format!("{} 第{n}行「{}」", t.id, f.label_text()),
            None => format!("{} 已删除的行「{}」", t.id, f.label_text()),
        };
        let back = format!("/tables/{}?focus={}", t.id, row.id.as_str());
        let fr = frame(s, &session, "/", session.flash.clone());
        let body = html! {
            h1 { (place) " 的修改历史" }
            p { a href=(back) { "← 返回表格" } }
            @if let Some(e) = &f.explanation { p.hint { "内涵/注释：" (e) } }
            table.list #history {
                thead { tr { th { "时间" } th { "修改人" } th { "操作" } th { "原值" } th { "新值" } } }
                tbody {
                    @for (who, e) in &lines {
                        tr {
                            td { (crate::cmd::local_time(e.change.time)) }
                            td { (who) }
                            td { (e.change.action.label()) @if let Some(n) = &e.change.note { "（" (n) "）" } }
                            td { @if e.old.is_some() { del { (show(&e.old)) } } @else { span.muted { "（空）" } } }
                            td { @if e.new.is_some() { ins { (show(&e.new)) } } @else { span.muted { "（空）" } } }
                        }
                    }
                    @if lines.is_empty() { tr { td colspan="5" { "这个单元格从未填写过。" } } }
                }
            }
        };
        Ok(webkit::page(&fr, &format!("{place} 的修改历史"), body))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use caiji_shared::validate::Code;

    #[test]
    fn messages_say_how_bad() {
        let e = Issue::error(Code::BadDate, "不是有效的年月");
        assert_eq!(message(&e), Message { severity: "error", message: "不是有效的年月".into() });
        assert_eq!(message(&Issue::warning(Code::Trimmed, "x")).severity, "warning");
    }
}
