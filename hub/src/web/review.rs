//! Reviewing one submission: the data at the submitted version, its findings, the diff from
//! the previous submission, what changed since, the workflow history with comments, and the
//! office's actions (open, return with comments, accept, exception). Only roles that may act
//! see the forms; the handlers check again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use caiji_agent::webkit::paging::{self, Paging, Search};
use caiji_agent::webkit::{self, CsrfForm, WebError};
use caiji_shared::Table;
use caiji_shared::sheet::{Row, SheetDiff, SheetId};
use caiji_shared::workflow::{Action, Event, RecordKind, State as St};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Session, WebPath, back, department_name, frame, office_only, sheet_id, when, with_store};
use crate::review::Submission;
use crate::server::AppState;
use crate::store::{HubStore, OfficeRole, OfficeUser};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/review/{table}/{department}", get(page))
        .route("/review/{table}/{department}/act", post(act))
        .route("/review/{table}/{department}/comment", post(comment))
}

/// The natural key of a row as the command line names it ("T001", "510201+01").
fn key(table: &Table, row: &Row) -> String {
    table.key.iter().map(|k| row.cells.get(k).map(|v| v.to_string()).unwrap_or_default()).collect::<Vec<_>>().join("+")
}

/// Whether the user reviews (the office's reviewers and administrator; not the approver).
fn reviews(user: &OfficeUser) -> bool {
    matches!(user.role, OfficeRole::Reviewer | OfficeRole::Admin)
}

/// Whether `user` may do `action` to a sheet in `state` (as the rules say; reasons given).
fn may(user: &OfficeUser, state: St, action: Action) -> bool {
    let Some(role) = user.role.workflow() else { return false };
    let e = Event { action, role, actor: user.name.clone(), at: 0, reason: Some("-".into()), heads: vec![] };
    state.apply(&e).is_ok()
}

fn show(v: &Option<caiji_shared::Value>) -> String {
    v.as_ref().map_or_else(|| "（空）".to_string(), |v| v.to_string())
}

fn diff_table(id: &str, table: &Table, d: &SheetDiff, names: &BTreeMap<String, String>) -> Markup {
    let label = |f: &str| table.field(f).map(|f| f.label_text()).unwrap_or_else(|| f.to_string());
    let name =
        |r: &caiji_shared::sheet::RowId| names.get(&r.0).cloned().unwrap_or_else(|| r.0.chars().take(8).collect());
    html! {
        @if d.is_empty() { p.muted { "（无变化）" } } @else {
            table.list id=(id) {
                thead { tr { th { "变化" } th { "行" } th { "字段" } th { "原值 → 新值" } } }
                tbody {
                    @for r in &d.added {
                        tr.added { td { "新增" } td { (key(table, r)) } td colspan="2" { (crate::review::row_summary(table, r)) } }
                    }
                    @for r in &d.removed {
                        tr.deleted { td { "删除" } td { (key(table, r)) } td colspan="2" { (crate::review::row_summary(table, r)) } }
                    }
                    @for c in &d.changed {
                        @for cell in &c.cells {
                            tr {
                                td { "修改" } td { (name(&c.row)) } td { (label(&cell.field)) }
                                td.changed { del { (show(&cell.old)) } " → " ins { (show(&cell.new)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The classes of a submitted cell: a finding on it, an open comment on it.
fn classes(flagged: bool, noted: bool) -> Option<&'static str> {
    match (flagged, noted) {
        (true, true) => Some("changed errors c-comment"),
        (true, false) => Some("changed errors"),
        (false, true) => Some("c-comment"),
        (false, false) => None,
    }
}

/// The findings listed by name; the rest are marked on the data.
const MAX_FINDINGS: usize = 200;

#[derive(Deserialize, Default)]
struct ReviewQuery {
    page: Option<String>,
    q: Option<String>,
    /// "errors": only the rows with findings.
    only: Option<String>,
}

/// A review page's data: the submission and the current rows' names. Reading, checking and
/// diffing a 10,000-row submission takes about a second, so paging and searching it reuse
/// this while the sheet's heads and its records (every action, comment and lock is one) stay
/// as they were.
pub struct Reviewed {
    key: (String, Vec<automerge::ChangeHash>, usize, Option<i64>),
    sub: Arc<Submission>,
    names: Arc<RowNames>,
}

/// Row id → the name a row goes by on the page.
type RowNames = BTreeMap<String, String>;

/// The submission of `id` and its rows' names, from `cache` when nothing changed since.
fn reviewed(
    store: &mut HubStore,
    cache: &std::sync::Mutex<Option<Reviewed>>,
    id: &SheetId,
) -> Result<(Arc<Submission>, Arc<RowNames>), WebError> {
    let records = store.sheet_records(id)?;
    let key = (id.to_string(), store.sheet(id)?.heads(), records.len(), records.last().and_then(|r| r.seq));
    if let Some(c) = cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref().filter(|c| c.key == key) {
        return Ok((c.sub.clone(), c.names.clone()));
    }
    let sub = Arc::new(crate::review::submission(store, id)?);
    let names = Arc::new(row_names(store, id)?);
    *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(Reviewed { key, sub: sub.clone(), names: names.clone() });
    Ok((sub, names))
}

/// Row names for diffs and comments: the natural key, else the row's number.
fn row_names(store: &mut HubStore, id: &SheetId) -> Result<RowNames, WebError> {
    let table = store.table(&id.table)?.clone();
    let current = store.sheet(id)?.rows();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (i, r) in current.iter().filter(|r| !r.deleted).enumerate() {
        let k = key(&table, r);
        names.insert(r.id.0.clone(), if k.is_empty() { format!("第{}行", i + 1) } else { k });
    }
    for r in current.iter().filter(|r| r.deleted) {
        names.entry(r.id.0.clone()).or_insert_with(|| format!("{}（已删除）", key(&table, r)));
    }
    Ok(names)
}

fn render(
    store: &mut HubStore,
    session: &Session,
    id: &SheetId,
    (sub, names): (&Submission, &RowNames),
    q: &ReviewQuery,
) -> Result<Markup, WebError> {
    let table = store.table(&id.table)?.clone();
    let deadline = store.deadline(id)?;
    let label = |f: &Option<String>| {
        f.as_deref().map(|f| table.field(f).map(|x| x.label_text()).unwrap_or_else(|| f.to_string()))
    };
    let resolved: BTreeSet<&str> = sub
        .records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Resolve { comment, .. } => Some(comment.as_str()),
            _ => None,
        })
        .collect();
    let flagged: BTreeMap<(usize, &str), &str> =
        sub.findings.iter().filter_map(|f| Some(((f.row_no?, f.field.as_deref()?), f.message.as_str()))).collect();
    let can_act = reviews(&session.user);
    let acts: Vec<Action> = [Action::Open, Action::Accept, Action::Return, Action::Exception]
        .into_iter()
        .filter(|a| may(&session.user, sub.state, *a))
        .collect();
    let errors = sub.findings.iter().filter(|f| f.is_error()).count();
    let base = format!("/review/{}/{}", id.table, id.department);
    let csrf = &session.csrf;
    // The submitted rows, numbered as submitted, that match the search; one page of them shows.
    let search = Search::new(q.q.as_deref());
    let only_findings = q.only.as_deref() == Some("errors");
    let with_findings: BTreeSet<usize> = sub.findings.iter().filter_map(|f| f.row_no).collect();
    let shown: Vec<(usize, &Row)> = sub
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (i + 1, r))
        .filter(|(n, r)| (!only_findings || with_findings.contains(n)) && search.matches(r, Some(*n), ""))
        .collect();
    let paging = Paging::asked(q.page.as_deref(), shown.len());
    // How a row is named in the comment form: its natural key, else its id (both are what
    // `review::parse_comment` takes), shown as the key or its number.
    let spec = |r: &Row| {
        let k = key(&table, r);
        if k.is_empty() { r.id.0.clone() } else { k }
    };
    let row_name = |r: &Row, n: usize| {
        let k = key(&table, r);
        if k.is_empty() { format!("第{n}行") } else { format!("第{n}行 {k}") }
    };
    // Open comments on cells, shown on the data.
    let noted: BTreeMap<(&str, &str), &str> = sub
        .records
        .iter()
        .filter(|r| !resolved.contains(r.id.as_str()))
        .filter_map(|r| match &r.kind {
            RecordKind::Comment(c) => Some(((c.row.as_deref()?, c.field.as_deref()?), c.text.as_str())),
            _ => None,
        })
        .collect();
    Ok(html! {
        div.toolbar {
            h1 { (table.title()) "（" (department_name(store, &id.department)) "）" }
            span #state { (webkit::state_badge(sub.state)) }
            span.spacer {}
            a href="/" { "返回进度看板" }
            button type="button" data-print { "打印" }
        }
        dl.facts {
            dt { "部门" } dd { (department_name(store, &id.department)) "（" (id.department) "）" }
            dt { "截止日期" } dd { (deadline.as_deref().unwrap_or("未设")) }
            dt { "报送次数" } dd { (sub.count) }
            dt { "报送版本" } dd { (sub.rows.len()) " 行；错误 " (errors) " 处，警告 " (sub.findings.len() - errors) " 处" }
        }
        div.cols {
            div #review-main {
                @if sub.count == 0 {
                    p.hint { "尚未报送。" }
                } @else {
                    section #findings {
                        h2 { "校验结果" }
                        @if sub.findings.is_empty() { p.muted { "没有发现问题。" } }
                        @if sub.findings.len() > MAX_FINDINGS {
                            p.hint {
                                "共 " (sub.findings.len()) " 条问题，下面列出前 " (MAX_FINDINGS) " 条；全部问题在下面的数据中以颜色标出，"
                                a #only-findings href=(paging::link(&base, &[("only", "errors".to_string())])) { "只看有问题的行" } "。"
                            }
                        }
                        ul { @for f in sub.findings.iter().take(MAX_FINDINGS) {
                            li class=(if f.is_error() { "errors" } else { "warnings" }) { (f.severity.label()) " " (f.to_string()) }
                        } }
                    }
                    section {
                        h2 { "与上次报送相比" }
                        @match &sub.previous {
                            None => { p.muted #diff { "首次报送，下面的报送数据即全部内容。" } }
                            Some(d) => { (diff_table("diff", &table, d, names)) }
                        }
                    }
                    @if let Some((locked, d)) = &sub.since {
                        section {
                            h2.warnings { @if *locked { "锁定后的修改（已保存，不在上报数据中）" } @else { "报送后又有修改（不在本次报送中）" } }
                            (diff_table("since", &table, d, names))
                        }
                    }
                    section #submitted {
                        div.toolbar {
                            h2 { "报送的数据（" (sub.rows.len()) " 行）" }
                            form.inline.no-print #data-search method="get" action=(base) {
                                input type="search" name="q" value=[q.q.as_deref()] placeholder="搜索行号或内容…" aria-label="搜索报送的数据";
                                select name="only" data-autosubmit aria-label="筛选" {
                                    option value="" selected[!only_findings] { "全部行" }
                                    option value="errors" selected[only_findings] { "有问题的行" }
                                }
                                button type="submit" { "搜索" }
                                @if !search.is_empty() || only_findings { a href=(base) { "清除" } }
                            }
                        }
                        @if can_act { p.hint.no-print { "点击单元格可选定批注的行和字段，并查看谁改了这个数。" } }
                        div.scroll {
                            table.list #data data-who=(super::who::href(&id.table, &id.department, "", "")) {
                                thead { tr { th { "序号" } @for f in &table.fields { th data-field=(f.id) { (f.label_text()) } } } }
                                tbody {
                                    @for (n, r) in paging.slice(&shown) { tr data-row=(spec(r)) data-id=(r.id.0) data-name=(row_name(r, *n)) {
                                        td { (n) }
                                        @for f in &table.fields {
                                            @let v = r.cells.get(&f.id).map(|v| v.to_string()).unwrap_or_default();
                                            @let flag = flagged.get(&(*n, f.id.as_str()));
                                            @let note = noted.get(&(r.id.0.as_str(), f.id.as_str()));
                                            @let title = flag.map(|m| m.to_string()).into_iter().chain(note.map(|c| format!("批注：{c}"))).collect::<Vec<_>>();
                                            td data-field=(f.id)
                                                class=[classes(flag.is_some(), note.is_some())]
                                                title=[(!title.is_empty()).then(|| title.join("\n"))] { (v) }
                                        }
                                    } }
                                    @if shown.is_empty() { tr { td colspan=(table.fields.len() + 1) { "没有符合条件的行。" } } }
                                }
                            }
                        }
                        (paging::pager(paging, |n| paging::link(&base, &[
                                ("page", n.to_string()),
                                ("q", q.q.clone().unwrap_or_default()),
                                ("only", q.only.clone().unwrap_or_default()),
                            ]),
                            html! { "符合条件 " (shown.len()) " 行，共 " (sub.rows.len()) " 行" }))
                    }
                }
                section #history {
                    h2 { "流转记录与批注" }
                    @for r in &sub.records {
                        @match &r.kind {
                            RecordKind::Event(e) => { p {
                                span.muted { (when(e.at)) " " } (e.actor) " " strong { (e.action.label()) }
                                @if let Some(x) = &e.reason { "：" (x) }
                                @if r.late { " " span.late { "（逾期）" } }
                                @if let Some(x) = &r.refused { " " span.errors { "〔未生效：" (x) "〕" } }
                            } }
                            RecordKind::Comment(c) => { div class=(if resolved.contains(r.id.as_str()) { "comment resolved" } else { "comment" }) {
                                span.muted { (when(c.at)) " " (c.author) " 批注" }
                                @if let Some(row) = &c.row { " " (names.get(row).cloned().unwrap_or_default()) }
                                @if let Some(l) = label(&c.field) { "「" (l) "」" }
                                "：" (c.text)
                                @if resolved.contains(r.id.as_str()) { " " span.muted { "（已处理）" } }
                            } }
                            RecordKind::Resolve { by, at, .. } => { p.muted { (when(*at)) " " (by) " 处理了一条批注" } }
                        }
                    }
                }
            }
            aside #review-side {
                @if can_act && !acts.is_empty() {
                    section.panel #actions {
                        h2 { "审核操作" }
                        div {
                            div {
                                @if acts.contains(&Action::Open) {
                                    form method="post" action={ (base) "/act" } {
                                        (webkit::csrf_field(csrf)) input type="hidden" name="action" value="open";
                                        button type="submit" #act-open { "开始审核" }
                                    }
                                }
                                @if acts.contains(&Action::Accept) {
                                    form method="post" action={ (base) "/act" } data-confirm="确定审核通过这张表吗？" {
                                        (webkit::csrf_field(csrf)) input type="hidden" name="action" value="accept";
                                        button.primary type="submit" #act-accept { "审核通过" }
                                    }
                                }
                                @if acts.contains(&Action::Exception) {
                                    form method="post" action={ (base) "/act" } data-confirm="确定例外开放这张已锁定的表吗？" {
                                        (webkit::csrf_field(csrf)) input type="hidden" name="action" value="exception";
                                        label { "例外开放原因（必填）" textarea name="reason" required {} }
                                        button.danger type="submit" #act-exception { "例外开放" }
                                    }
                                }
                            }
                            @if acts.contains(&Action::Return) {
                                form method="post" action={ (base) "/act" } #return-form {
                                    (webkit::csrf_field(csrf)) input type="hidden" name="action" value="return";
                                    label { "退回原因（必填）" textarea name="reason" required {} }
                                    label { "随退回的批注，每行一条：行:字段:内容（如 T002:出生日期:与身份证不符）"
                                        textarea #return-comments name="comments" rows="3" {} }
                                    button.danger type="submit" #act-return { "退回修改" }
                                }
                            }
                        }
                    }
                }
                @if can_act {
                    section.panel.no-print #comment-panel {
                        h2 { "批注" }
                        form method="post" action={ (base) "/comment" } {
                            (webkit::csrf_field(csrf))
                            label { "行" select #comment-row name="row" {
                                option value="" { "整张表" }
                                @for (n, r) in paging.slice(&shown) { option value=(spec(r)) { (row_name(r, *n)) } }
                            } }
                            label { "字段" select #comment-field name="field" {
                                option value="" { "整行" }
                                @for f in &table.fields { option value=(f.id) { (f.label_text()) } }
                            } }
                            label { "内容" textarea #comment-text name="text" rows="2" {} }
                            a #picked-who hidden href="#" { "谁改了这个数" }
                            button type="submit" #comment-send { "发表批注" }
                            @if acts.contains(&Action::Return) { " " button type="button" #comment-add { "加入退回批注" } }
                        }
                    }
                }
            }
        }
    })
}

async fn page(
    State(state): State<Arc<AppState>>,
    session: Session,
    WebPath((table, department)): WebPath<(String, String)>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, WebError> {
    office_only(&session)
        .map_err(|_| WebError::forbidden("部门负责人（只读）不能查看审核页面，只能查看全校汇总数据"))?;
    let st = state.clone();
    with_store(&state, move |s| {
        let id = sheet_id(s, &table, &department)?;
        let (sub, names) = reviewed(s, &st.reviewed, &id)?;
        let body = render(s, &session, &id, (&sub, &names), &q)?;
        let title = format!("审核 {} {}", id.table, id.department);
        let f = frame(&st, s, &session, "/", &["hub.js"]);
        Ok(webkit::page(&f, &title, body))
    })
    .await
}

#[derive(Deserialize)]
struct ActForm {
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    comments: String,
}

async fn act(
    State(state): State<Arc<AppState>>,
    session: Session,
    WebPath((table, department)): WebPath<(String, String)>,
    CsrfForm(form): CsrfForm<ActForm>,
) -> Result<Response, WebError> {
    office_only(&session)?;
    let action = match form.action.as_str() {
        "open" => Action::Open,
        "return" => Action::Return,
        "accept" => Action::Accept,
        "exception" => Action::Exception,
        other => return Err(WebError::bad_request(format!("操作「{other}」无效"))),
    };
    // The approver approves the year's tables; returns, acceptance and opening are the
    // reviewers' and the administrator's, an exception the administrator's alone.
    let allowed = match action {
        Action::Exception => session.user.role == OfficeRole::Admin,
        _ => reviews(&session.user),
    };
    if !allowed {
        return Err(WebError::forbidden(format!("{}不能执行「{}」", session.user.role.label(), action.label())));
    }
    let to = format!("/review/{table}/{department}");
    let dept = department.clone();
    let user = session.user.clone();
    let result = with_store(&state, move |s| {
        let id = sheet_id(s, &table, &department)?;
        let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
        let comments: Vec<String> =
            form.comments.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        Ok(crate::review::act(s, &user, &id, action, reason, &comments)?)
    })
    .await;
    if result.is_ok() {
        state.events.sheet_changed(&dept, None);
    }
    back(&state, &to, result)
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    row: String,
    #[serde(default)]
    field: String,
    text: String,
}

async fn comment(
    State(state): State<Arc<AppState>>,
    session: Session,
    WebPath((table, department)): WebPath<(String, String)>,
    CsrfForm(form): CsrfForm<CommentForm>,
) -> Result<Response, WebError> {
    office_only(&session)?;
    if !reviews(&session.user) {
        return Err(WebError::forbidden("只有平台审核员和管理员可以写批注"));
    }
    let to = format!("/review/{table}/{department}");
    let dept = department.clone();
    let user = session.user.clone();
    let result = with_store(&state, move |s| {
        let id = sheet_id(s, &table, &department)?;
        if form.text.trim().is_empty() {
            return Err(WebError::bad_request(format!("{} {}：批注内容不能为空", id.table, id.department)));
        }
        let spec = format!("{}:{}:{}", form.row.trim(), form.field.trim(), form.text.trim());
        let (row, field, text) = crate::review::parse_comment(s, &id, &spec)?;
        s.office_comment(&user, &id, row, field, &text)?;
        Ok("已发表批注".to_string())
    })
    .await;
    if result.is_ok() {
        state.events.sheet_changed(&dept, None);
    }
    back(&state, &to, result)
}
