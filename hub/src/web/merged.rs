//! 全校汇总: the school-wide tables (every merged department's rows), their duplicates and
//! cross-table findings, and the year's steps: merge, lock, exception, final approval and the
//! export, whose files can be downloaded here. Department heads may read the merged tables.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use caiji_agent::webkit::paging::{self, Paging, Search};
use caiji_agent::webkit::{self, CsrfForm, WebError};
use caiji_shared::sheet::Row;
use caiji_shared::validate::Finding;
use caiji_shared::workflow::{Action, State as St};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Session, WebPath, admin_only, back, department_name, frame, office_only, sheet_id, with_store};
use crate::server::AppState;
use crate::store::{HubStore, OfficeRole};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/merged", get(overview))
        .route("/merged/{table}", get(table_page))
        .route("/year/{step}", post(step))
        .route("/year/exception", post(exception))
        .route("/exports/{dir}/{file}", get(download))
}

fn findings_list(findings: &[Finding]) -> Markup {
    html! {
        @if findings.is_empty() { p.muted { "没有发现重复或跨表问题。" } }
        ul #findings { @for f in findings {
            li class=(if f.is_error() { "errors" } else { "warnings" }) { (f.severity.label()) " " (f.to_string()) }
        } }
    }
}

/// The export folders (newest first) and their files.
fn exports(store: &HubStore) -> Vec<(String, Vec<String>)> {
    let Ok(dirs) = std::fs::read_dir(store.dir().join("exports")) else { return vec![] };
    let mut out: Vec<(String, Vec<String>)> = dirs
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let mut files: Vec<String> = std::fs::read_dir(e.path())
                .map(|f| f.filter_map(Result::ok).map(|f| f.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            files.sort();
            (e.file_name().to_string_lossy().into_owned(), files)
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0));
    out
}

/// Whether the year may start over from the web: after the final approval, that is with at
/// least one approved sheet and none still locked and waiting for it. (Sheets in other states
/// are not carried over; the result says which.)
fn rollover_ready(store: &HubStore) -> Result<(), WebError> {
    let mut approved = 0;
    let mut waiting = Vec::new();
    for t in &store.edition().tables {
        for id in crate::year::sheets_of(store, &t.id)? {
            match store.sheet_state(&id)? {
                St::Approved | St::Reported => approved += 1,
                St::Locked => waiting.push(format!("{} {}", id.table, department_name(store, &id.department))),
                _ => {}
            }
        }
    }
    if !waiting.is_empty() {
        return Err(WebError::bad_request(format!(
            "还有 {} 张已锁定的表未经院长办公会审定：{}；审定后才能开始新学年",
            waiting.len(),
            waiting.join("、")
        )));
    }
    if approved == 0 {
        return Err(WebError::bad_request(format!(
            "{} 还没有经院长办公会审定的表：审定后才能开始新学年",
            store.info().year
        )));
    }
    Ok(())
}

/// The merged tables' findings and the last school-wide table shown, at a data version
/// ([`HubStore::data_version`]): checking every merged sheet and reading a 10,000-row table
/// takes a good part of a second, so the overview and the pages of a table reuse them.
#[derive(Default)]
pub struct MergedCache {
    version: String,
    findings: Option<Arc<MergedFindings>>,
    table: Option<Arc<MergedTable>>,
}

/// The merged tables' cross findings and (table, sheets, rows) counts.
type MergedFindings = (Vec<Finding>, Vec<crate::year::TableCount>);
/// A school-wide table and its rows with their departments.
type MergedTable = (caiji_shared::Table, Vec<(String, Row)>);

/// The cache as of data `version` (emptied if it held an older one).
fn at<'c>(cache: &'c Mutex<MergedCache>, version: &str) -> std::sync::MutexGuard<'c, MergedCache> {
    let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
    if c.version != version {
        *c = MergedCache { version: version.to_string(), ..MergedCache::default() };
    }
    c
}

/// `merged_findings`, from `cache` while the data is unchanged.
fn findings_of(store: &mut HubStore, cache: &Mutex<MergedCache>) -> Result<Arc<MergedFindings>, WebError> {
    let version = store.data_version()?;
    if let Some(f) = at(cache, &version).findings.clone() {
        return Ok(f);
    }
    let found = Arc::new(crate::year::merged_findings(store)?);
    at(cache, &version).findings = Some(found.clone());
    Ok(found)
}

/// `merged_table_rows` (which records the view in the audit log), from `cache` while the
/// data is unchanged; the view is recorded either way.
fn table_of(
    store: &mut HubStore,
    cache: &Mutex<MergedCache>,
    user: &crate::store::OfficeUser,
    table: &str,
) -> Result<Arc<MergedTable>, WebError> {
    let version = store.data_version()?;
    let cached = at(cache, &version).table.clone().filter(|t| t.0.id == table);
    if let Some(t) = cached {
        store.audit(&format!("user:{}", user.name), "view_merged", &t.0.id)?;
        return Ok(t);
    }
    let got = Arc::new(crate::year::merged_table_rows(store, user, table)?);
    at(cache, &version).table = Some(got.clone());
    Ok(got)
}

fn render_overview(store: &mut HubStore, cache: &Mutex<MergedCache>, session: &Session) -> Result<Markup, WebError> {
    let found = findings_of(store, cache)?;
    let (findings, counts) = (&found.0, &found.1);
    let edition = store.edition().clone();
    let info = store.info().clone();
    // Every planned sheet's state, for the steps' overview and the exception form.
    let mut states: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut locked = Vec::new();
    for t in &edition.tables {
        for id in crate::year::sheets_of(store, &t.id)? {
            let s = store.sheet_state(&id)?;
            *states.entry(s.label()).or_default() += 1;
            if s == St::Locked {
                locked.push(id);
            }
        }
    }
    let role = session.user.role;
    let csrf = &session.csrf;
    let step = |path: &str, label: &str, confirm: &str, class: &str| {
        html! {
            form method="post" action={ "/year/" (path) } data-confirm=(confirm) {
                (webkit::csrf_field(csrf))
                button class=(class) type="submit" id={ "step-" (path) } { (label) }
            }
        }
    };
    Ok(html! {
        div.toolbar { h1 { "全校汇总 · " (info.year) } span.spacer {} button type="button" data-print { "打印" } }
        @if role != OfficeRole::DeptViewer {
            section.panel #steps {
                h2 { "学年步骤" }
                p { "各表状态：" @for (s, n) in &states { span.muted { (s) " " (n) "　" } } }
                div.toolbar {
                    @if role == OfficeRole::Admin {
                        (step("merge", "汇总已通过的表", "确定把所有已通过的表汇总为全校数据吗？", "primary"))
                        (step("lock", "锁定", "锁定后各部门的修改不再进入上报数据。确定锁定吗？", "danger"))
                        (step("export", "导出上报文件", "确定从锁定的版本导出上报文件吗？", ""))
                    }
                    @if role == OfficeRole::Approver {
                        (step("approve", "院长办公会审定", "确定审定所有已锁定的表吗？", "primary"))
                    }
                }
                @if role == OfficeRole::Admin && rollover_ready(store).is_ok() {
                    @let next = info.year.next();
                    form method="post" action="/year/rollover" #rollover
                        data-confirm={ "确定以院长办公会审定的数据开始" (next) "吗？需要结转的表从审定的数据开始，其余的表从空表开始；各部门的采集端下次同步时切换到新学年。此操作不能撤销。" } {
                        (webkit::csrf_field(csrf))
                        p.hint { "本学年的数据已经审定。可以开始" (next) "：" }
                        button.danger type="submit" #step-rollover { "开始新学年（" (next) "）" }
                    }
                }
                @if role == OfficeRole::Admin && !locked.is_empty() {
                    form method="post" action="/year/exception" data-confirm="确定例外开放这张已锁定的表吗？" {
                        (webkit::csrf_field(csrf))
                        label { "例外开放" select name="sheet" {
                            @for id in &locked { option value={ (id.table) "/" (id.department) } {
                                (id.table) " " (department_name(store, &id.department)) } }
                        } }
                        label { "原因（必填）" input type="text" name="reason" required; }
                        button.danger type="submit" { "例外开放" }
                    }
                }
            }
        }
        section {
            h2 { "全校表" }
            @if counts.is_empty() { p.hint { "还没有汇总的表。各部门的表审核通过后，由平台管理员汇总。" } }
            @else {
                table.list #merged-tables {
                    thead { tr { th { "表" } th { "已汇总部门" } th { "全校行数" } } }
                    tbody { @for (t, sheets, rows) in counts { tr {
                        td { a href={ "/merged/" (t) } { (edition.table(t).map(|x| x.title()).unwrap_or_else(|| t.clone())) } }
                        td { (sheets) } td { (rows) }
                    } } }
                }
            }
        }
        section {
            h2 { "重复与跨表问题" }
            p.hint { "同一唯一标识出现在多个部门、或跨表规则不满足时列在这里；请退回相应部门的表修改。" }
            (findings_list(findings))
        }
        @if role == OfficeRole::Admin {
            section #exports {
                h2 { "上报文件" }
                @let list = exports(store);
                @if list.is_empty() { p.muted { "还没有导出。" } }
                @for (dir, files) in &list {
                    h3 { (dir) }
                    ul { @for f in files { li { a href={ "/exports/" (super::auth::urlencode(dir)) "/" (super::auth::urlencode(f)) } { (f) } } } }
                }
            }
        }
    })
}

async fn overview(State(state): State<Arc<AppState>>, session: Session) -> Result<Response, WebError> {
    let st = state.clone();
    with_store(&state, move |s| {
        let body = render_overview(s, &st.merged, &session)?;
        let f = frame(&st, s, &session, "/merged", &[]);
        Ok(webkit::page(&f, "全校汇总", body))
    })
    .await
}

#[derive(Deserialize, Default)]
struct TableQuery {
    page: Option<String>,
    q: Option<String>,
}

async fn table_page(
    State(state): State<Arc<AppState>>,
    session: Session,
    WebPath(table): WebPath<String>,
    Query(q): Query<TableQuery>,
) -> Result<Response, WebError> {
    let st = state.clone();
    with_store(&state, move |s| {
        let user = session.user.clone();
        let got = table_of(s, &st.merged, &user, &table)?;
        let (t, rows) = (&got.0, &got.1);
        let found = findings_of(s, &st.merged)?;
        let findings: Vec<Finding> = found.0.iter().filter(|f| f.table == t.id).cloned().collect();
        let flagged: BTreeMap<(&str, &str), &str> = findings
            .iter()
            .filter_map(|f| Some(((f.row_id.as_deref()?, f.field.as_deref().unwrap_or("")), f.message.as_str())))
            .collect();
        let row_flagged = |id: &str| flagged.keys().any(|(r, _)| *r == id);
        let names: BTreeMap<String, String> = s.departments()?.into_iter().map(|d| (d.code, d.name)).collect();
        let office = session.user.role != OfficeRole::DeptViewer;
        let dept_name = |d: &str| names.get(d).cloned().unwrap_or_else(|| d.to_string());
        // Numbered school-wide; the search also matches the department's name.
        let search = Search::new(q.q.as_deref());
        let shown: Vec<(usize, &String, &Row)> = rows
            .iter()
            .enumerate()
            .map(|(i, (d, r))| (i + 1, d, r))
            .filter(|(n, d, r)| search.matches(r, Some(*n), &dept_name(d)))
            .collect();
        let paging = Paging::asked(q.page.as_deref(), shown.len());
        let base = format!("/merged/{}", t.id);
        let body = html! {
            div.toolbar {
                h1 { "全校汇总：" (t.title()) }
                span.muted { "全校 " (rows.len()) " 行" }
                span.spacer {}
                form.inline.no-print #merged-search method="get" action=(base) {
                    input type="search" name="q" value=[q.q.as_deref()] placeholder="搜索行号、部门或内容…" aria-label="搜索全校表";
                    button type="submit" { "搜索" }
                    @if !search.is_empty() { a href=(base) { "清除" } }
                }
                a href="/merged" { "返回全校汇总" }
                button type="button" data-print { "打印" }
            }
            @if !findings.is_empty() { section { h2 { "本表的问题" } (findings_list(&findings)) } }
            div.scroll {
                table.list #merged {
                    thead { tr { th { "序号" } th { "部门" } @for f in &t.fields { th { (f.label_text()) } } } }
                    tbody {
                        @for (n, d, r) in paging.slice(&shown) {
                            tr class=[row_flagged(r.id.as_str()).then_some("flagged")] {
                                td { (n) } td { (dept_name(d)) }
                                @for f in &t.fields {
                                    @let v = r.cells.get(&f.id).map(|v| v.to_string()).unwrap_or_default();
                                    // The office follows a number to who changed it; heads only read.
                                    @let cell = if office {
                                        html! { a.who href=(super::who::href(&t.id, d, &r.id.0, &f.id)) title="谁改了这个数" { (v) } }
                                    } else { html! { (v) } };
                                    @if let Some(m) = flagged.get(&(r.id.as_str(), f.id.as_str())) {
                                        td.changed.errors title=(m) { (cell) }
                                    } @else { td { (cell) } }
                                }
                            }
                        }
                        @if shown.is_empty() { tr { td colspan=(t.fields.len() + 2) { "没有符合条件的行。" } } }
                    }
                }
            }
            (paging::pager(paging, |n| paging::link(&base, &[("page", n.to_string()), ("q", q.q.clone().unwrap_or_default())]),
                html! { "符合条件 " (shown.len()) " 行，全校共 " (rows.len()) " 行" }))
        };
        let f = frame(&st, s, &session, "/merged", &[]);
        Ok(webkit::page(&f, &format!("全校汇总 {}", t.id), body))
    })
    .await
}

#[derive(Deserialize)]
struct Empty {}

async fn step(
    State(state): State<Arc<AppState>>,
    session: Session,
    WebPath(step): WebPath<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    office_only(&session)?;
    match step.as_str() {
        "merge" => admin_only(&session, "汇总")?,
        "lock" => admin_only(&session, "锁定")?,
        "export" => admin_only(&session, "导出上报数据")?,
        "rollover" => admin_only(&session, "开始新学年")?,
        "approve" if session.user.role != OfficeRole::Approver => {
            return Err(WebError::forbidden("只有院长办公会审定人可以审定"));
        }
        "approve" => {}
        other => return Err(WebError::not_found(format!("没有步骤「{other}」"))),
    }
    let user = session.user.clone();
    let result = with_store(&state, move |s| {
        Ok(match step.as_str() {
            "merge" => crate::year::merge(s, &user)?,
            "lock" => crate::year::lock(s, &user)?,
            "approve" => crate::year::approve(s, &user)?,
            "rollover" => {
                rollover_ready(s)?;
                crate::year::rollover(s, &user)?
            }
            _ => {
                let name = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
                let dir = s.dir().join("exports").join(&name);
                let m = crate::report::export(s, &user, &dir)?;
                format!("已导出 {} 个文件（{name}），可在本页下载", m.files.len())
            }
        })
    })
    .await;
    back(&state, "/merged", result)
}

#[derive(Deserialize)]
struct ExceptionForm {
    sheet: String,
    #[serde(default)]
    reason: String,
}

async fn exception(
    State(state): State<Arc<AppState>>,
    session: Session,
    CsrfForm(form): CsrfForm<ExceptionForm>,
) -> Result<Response, WebError> {
    admin_only(&session, "例外开放")?;
    let Some((table, department)) = form.sheet.split_once('/') else {
        return Err(WebError::bad_request("请选择要例外开放的表"));
    };
    let (table, department) = (table.to_string(), department.to_string());
    let dept = department.clone();
    let user = session.user.clone();
    let result = with_store(&state, move |s| {
        let id = sheet_id(s, &table, &department)?;
        let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
        Ok(crate::review::act(s, &user, &id, Action::Exception, reason, &[])?)
    })
    .await;
    if result.is_ok() {
        state.events.sheet_changed(&dept, None);
    }
    back(&state, "/merged", result)
}

/// A name that is one plain path component (no traversal, no hidden files).
fn plain_name(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('.') && !s.contains(['/', '\\', '\0']) && s != ".."
}

async fn download(
    State(state): State<Arc<AppState>>,
    session: Session,
    WebPath((dir, file)): WebPath<(String, String)>,
) -> Result<Response, WebError> {
    admin_only(&session, "下载上报文件")?;
    if !plain_name(&dir) || !plain_name(&file) {
        return Err(WebError::not_found("没有这个上报文件"));
    }
    let name = file.clone();
    let bytes = with_store(&state, move |s| {
        let root = s.dir().join("exports");
        let path = root.join(&dir).join(&file);
        let (Ok(root), Ok(real)) = (root.canonicalize(), path.canonicalize()) else {
            return Err(WebError::not_found(format!("没有上报文件「{file}」")));
        };
        if !real.starts_with(&root) || !real.is_file() {
            return Err(WebError::not_found(format!("没有上报文件「{file}」")));
        }
        s.audit(&format!("user:{}", session.user.name), "export_download", &format!("{dir}/{file}"))?;
        std::fs::read(&real).map_err(|e| WebError::internal(format!("读取上报文件「{file}」失败：{e}")))
    })
    .await?;
    let kind = match name.rsplit('.').next() {
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    let disposition = format!("attachment; filename*=UTF-8''{}", super::auth::urlencode(&name));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::plain_name;

    #[test]
    fn export_names_are_one_plain_component() {
        assert!(plain_name("20261203-101010") && plain_name("测试职业学院-2025学年状态数据.xlsx"));
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "../x"] {
            assert!(!plain_name(bad), "{bad}");
        }
    }
}
