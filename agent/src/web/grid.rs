//! A table's data as a grid (/tables/{id}): one page of rows at a time (server-side paging and
//! search keep the page small for 10,000-row tables), each cell marked with its state (error,
//! warning, not yet on the hub, commented, locked). Editing happens in `assets/grid.js`, which
//! talks to the JSON endpoints in [`super::cells`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use caiji_shared::Value;
use caiji_shared::catalog::{Field, Table};
use caiji_shared::sheet::{Row, RowId, Sheet};
use caiji_shared::validate::{Finding, RowData, Tally, check_across, check_row, check_sheet};
use maud::{Markup, html};
use serde::Deserialize;

use super::tables::{SheetComment, comments, locked_reason};
use super::{Session, WebState, cells, frame, review, with_store};
use crate::store::Store;
use crate::webkit::paging::{self, Paging, Search};
use crate::webkit::{self, Frame, WebError};

pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/tables/{id}", get(grid_page))
        .route("/tables/{id}/check", post(cells::check))
        .route("/tables/{id}/cell", post(cells::save))
        .route("/tables/{id}/paste", post(cells::paste))
        .route("/tables/{id}/rows", post(cells::add_row))
        .route("/tables/{id}/rows/delete", post(cells::delete_row))
        .route("/tables/{id}/history", get(cells::history))
}

#[derive(Deserialize, Default)]
pub struct GridQuery {
    page: Option<String>,
    q: Option<String>,
    only: Option<String>,
    focus: Option<String>,
}

/// The grid's data for one page.
struct View {
    table: Table,
    editable: bool,
    enrolled: bool,
    note: Option<String>,
    /// (row number for live rows, row) on this page.
    rows: Vec<(Option<usize>, Row)>,
    matched: usize,
    live: usize,
    paging: Paging,
    /// A paste may add rows at the end: the last page shows, unfiltered.
    append: bool,
    /// (row id, field id or "") → findings.
    findings: Arc<Findings>,
    pending: HashSet<(String, String)>,
    comments: Vec<SheetComment>,
}

/// A sheet's findings by (row id, field id or "").
pub type Findings = HashMap<(String, String), Vec<Finding>>;

/// A sheet's rows and findings as of its heads. Reading and checking 10,000 rows is most of a
/// grid page's time, so paging and searching reuse them until the sheet changes (any edit,
/// here or by sync, moves its heads).
pub struct Checked {
    sheet: String,
    heads: Vec<ChangeHash>,
    rows: Arc<Vec<Row>>,
    findings: Arc<Findings>,
    /// The live rows at the heads the hub last confirmed, for the "not yet on the hub" marks
    /// (read once per sync, not on every page).
    at_hub: Option<(Vec<ChangeHash>, Arc<Vec<Row>>)>,
}

/// The rows (deleted ones included, in order) and findings of `table`'s sheet, from `cache`
/// when the sheet has not changed since.
pub(super) fn checked(
    s: &mut Store,
    cache: &Mutex<Option<Checked>>,
    table: &Table,
) -> Result<(Arc<Vec<Row>>, Arc<Findings>), WebError> {
    let sheet = s.sheet_id(&table.id).to_string();
    let heads = s.sheet(&table.id)?.heads();
    if let Some(c) = lock(cache).as_ref()
        && c.sheet == sheet
        && c.heads == heads
    {
        return Ok((c.rows.clone(), c.findings.clone()));
    }
    let rows = s.sheet(&table.id)?.rows();
    // Checked as `validate` does: the live rows, numbered from 1.
    let found = {
        let period = s.info().year.period(table.period);
        let dept = s.info().department_name.clone();
        let live = live_data(&rows);
        check_sheet(s.edition(), table, period, Some(&dept), &live)
    };
    let mut findings = Findings::new();
    for f in found {
        let key = (f.row_id.clone().unwrap_or_default(), f.field.clone().unwrap_or_default());
        findings.entry(key).or_default().push(f);
    }
    let (rows, findings) = (Arc::new(rows), Arc::new(findings));
    *lock(cache) = Some(Checked { sheet, heads, rows: rows.clone(), findings: findings.clone(), at_hub: None });
    Ok((rows, findings))
}

/// The live row count and the findings' tally of `table`'s sheet from `cache`, when it holds
/// that sheet as it is now (so 我的报表 need not re-check the sheet just edited).
pub(super) fn cached_tally(s: &mut Store, cache: &Mutex<Option<Checked>>, table: &str) -> Option<(usize, Tally)> {
    let sheet = s.sheet_id(table).to_string();
    let heads = s.sheet(table).ok()?.heads();
    let guard = lock(cache);
    let c = guard.as_ref().filter(|c| c.sheet == sheet && c.heads == heads)?;
    let errors = c.findings.values().flatten().filter(|f| f.is_error()).count();
    let all = c.findings.values().map(Vec::len).sum::<usize>();
    Some((c.rows.iter().filter(|r| !r.deleted).count(), Tally { errors, warnings: all - errors }))
}

fn lock(cache: &Mutex<Option<Checked>>) -> std::sync::MutexGuard<'_, Option<Checked>> {
    cache.lock().unwrap_or_else(|p| p.into_inner())
}

/// The live rows as the validator takes them, numbered from 1.
fn live_data(rows: &[Row]) -> Vec<RowData<'_>> {
    rows.iter()
        .filter(|r| !r.deleted)
        .enumerate()
        .map(|(i, r)| RowData { id: r.id.as_str(), row_no: i + 1, cells: &r.cells })
        .collect()
}

/// The cells saved here that the hub has not got: (row id, field), or (row id, "") for a row
/// it has not got at all; `now` is the sheet's rows (from [`checked`]). Nothing when the agent
/// is not enrolled or the hub has the sheet as it is.
fn pending(
    s: &mut Store,
    cache: &Mutex<Option<Checked>>,
    table: &Table,
    now: &[Row],
) -> Result<HashSet<(String, String)>, WebError> {
    let mut out = HashSet::new();
    if s.hub()?.is_none() {
        return Ok(out);
    }
    let hub = s.hub_heads(&table.id)?;
    if hub == s.sheet(&table.id)?.heads() {
        return Ok(out);
    }
    let sheet = s.sheet_id(&table.id).to_string();
    let known = lock(cache)
        .as_ref()
        .filter(|c| c.sheet == sheet)
        .and_then(|c| c.at_hub.as_ref().filter(|(h, _)| *h == hub).map(|(_, rows)| rows.clone()));
    let at_hub = match known {
        Some(rows) => rows,
        None => {
            let rows = Arc::new(if hub.is_empty() { Vec::new() } else { s.sheet(&table.id)?.live_rows_at(&hub) });
            if let Some(c) = lock(cache).as_mut().filter(|c| c.sheet == sheet) {
                c.at_hub = Some((hub, rows.clone()));
            }
            rows
        }
    };
    let diff = Sheet::diff_rows(at_hub.iter(), now.iter().filter(|r| !r.deleted));
    for r in diff.added {
        out.insert((r.id.0, String::new()));
    }
    for r in diff.changed {
        for c in r.cells {
            out.insert((r.row.0.clone(), c.field));
        }
    }
    Ok(out)
}

/// Keeps `cache` in step after a write that changed cells of the rows `changed` or appended
/// them (nothing deleted, restored or reordered), made when the sheet was at `before`: those
/// rows are read again and re-checked, with the rows together (keys), instead of reading and
/// checking the whole sheet on the next page. A cache of another sheet or state is left for
/// the next page to rebuild; one the change does not fit is dropped.
pub(super) fn patch(
    s: &mut Store,
    cache: &Mutex<Option<Checked>>,
    table: &Table,
    before: &[ChangeHash],
    changed: &[RowId],
) {
    let sheet_name = s.sheet_id(&table.id).to_string();
    let mut guard = lock(cache);
    let Some(c) = guard.as_mut().filter(|c| c.sheet == sheet_name && c.heads == before) else { return };
    if !patch_rows(s, c, table, changed) {
        *guard = None;
    }
}

fn patch_rows(s: &mut Store, c: &mut Checked, table: &Table, changed: &[RowId]) -> bool {
    let period = s.info().year.period(table.period);
    let dept = s.info().department_name.clone();
    let Ok(sheet) = s.sheet(&table.id) else { return false };
    let heads = sheet.heads();
    let mut seen = HashSet::new();
    let changed: Vec<&RowId> = changed.iter().filter(|id| seen.insert(id.as_str())).collect();
    let Some(fresh) = changed.iter().map(|id| sheet.row(id)).collect::<Option<Vec<Row>>>() else { return false };
    let at: Vec<Option<usize>> = {
        let index: HashMap<&str, usize> = c.rows.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
        changed.iter().map(|id| index.get(id.as_str()).copied()).collect()
    };
    let rows = Arc::make_mut(&mut c.rows);
    for (now, at) in fresh.into_iter().zip(at) {
        match at {
            Some(i) if rows[i].deleted == now.deleted && rows[i].order == now.order => rows[i] = now,
            Some(_) => return false,
            None => rows.push(now),
        }
    }
    // Appended rows must come last in row order, or every later row's number moves.
    if !rows.windows(2).all(|w| (w[0].order, &w[0].id) <= (w[1].order, &w[1].id)) {
        return false;
    }
    let changed: HashSet<&str> = changed.iter().map(|id| id.as_str()).collect();
    let findings = Arc::make_mut(&mut c.findings);
    findings.retain(|(row, _), found| {
        if changed.contains(row.as_str()) {
            return false;
        }
        found.retain(|f| !f.code.is_across_rows());
        !found.is_empty()
    });
    let live = live_data(rows);
    let edition = s.edition();
    let again = live
        .iter()
        .filter(|r| changed.contains(r.id))
        .flat_map(|r| check_row(edition, table, period, Some(&dept), r))
        .chain(check_across(table, Some(&dept), &live));
    for f in again {
        let key = (f.row_id.clone().unwrap_or_default(), f.field.clone().unwrap_or_default());
        findings.entry(key).or_default().push(f);
    }
    c.heads = heads;
    true
}

fn view(s: &mut Store, cache: &Mutex<Option<Checked>>, id: &str, q: &GridQuery) -> Result<View, WebError> {
    let table = s.table(id)?.clone();
    let state = s.sheet_state(&table.id)?;
    let comments = comments(s, &table.id)?;
    let (all, findings) = checked(s, cache, &table)?;
    let with_findings: HashSet<&str> = findings.keys().map(|(row, _)| row.as_str()).collect();
    let open: HashSet<&str> = comments.iter().filter(|c| !c.resolved).filter_map(|c| c.row.as_deref()).collect();
    let only = q.only.as_deref().unwrap_or("");
    let search = Search::new(q.q.as_deref());
    let mut n = 0;
    let mut matched = Vec::new();
    for r in all.iter() {
        let number = if r.deleted {
            None
        } else {
            n += 1;
            Some(n)
        };
        let keep = match only {
            "deleted" => r.deleted,
            "errors" => !r.deleted && with_findings.contains(r.id.as_str()),
            "comments" => !r.deleted && open.contains(r.id.as_str()),
            _ => !r.deleted,
        };
        if keep && search.matches(r, number, "") {
            matched.push((number, r));
        }
    }
    let paging = match &q.focus {
        Some(f) if q.page.is_none() => {
            Paging::holding(matched.iter().position(|(_, r)| r.id.as_str() == f).unwrap_or(0), matched.len())
        }
        _ => Paging::asked(q.page.as_deref(), matched.len()),
    };
    let rows: Vec<(Option<usize>, Row)> = paging.slice(&matched).iter().map(|(n, r)| (*n, (*r).clone())).collect();
    let pending = pending(s, cache, &table, &all)?;
    let append = state.editable() && only.is_empty() && search.is_empty() && paging.page == paging.pages;
    Ok(View {
        append,
        editable: state.editable(),
        enrolled: s.hub()?.is_some(),
        note: locked_reason(state),
        table,
        rows,
        matched: matched.len(),
        live: n,
        paging,
        findings,
        pending,
        comments,
    })
}

async fn grid_page(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<GridQuery>,
) -> Result<Response, WebError> {
    let st = state.clone();
    with_store(&state, move |s| {
        let v = view(s, &st.grid, &id, &q)?;
        let review = review::panel(s, &session, &v.table)?;
        let mut f: Frame = frame(s, &session, "/", session.flash.clone());
        f.scripts = &["grid.js"];
        let title = v.table.title();
        let body = html! {
            h1 { (title) " " (webkit::state_badge(s.sheet_state(&v.table.id)?)) }
            @if let Some(note) = &v.note { p.flash.warn #locked-note { (note) } }
            (review)
            (toolbar(&v, &q, &session))
            (cell_bar(&v))
            div.scroll #grid-scroll { (grid(&v)) }
            (pager(&v, &q))
            (legend(v.enrolled))
        };
        Ok(webkit::page(&f, &title, body))
    })
    .await
}

fn link(v: &View, q: &GridQuery, page: usize) -> String {
    let pairs = [
        ("page", page.to_string()),
        ("q", q.q.clone().unwrap_or_default()),
        ("only", q.only.clone().unwrap_or_default()),
    ];
    paging::link(&format!("/tables/{}", v.table.id), &pairs)
}

fn toolbar(v: &View, q: &GridQuery, session: &Session) -> Markup {
    let only = q.only.as_deref().unwrap_or("");
    let id = &v.table.id;
    html! {
        div.toolbar {
            form.inline #search method="get" action={ "/tables/" (id) } {
                input type="search" name="q" value=[q.q.as_deref()] placeholder="搜索行号或内容…" aria-label="搜索";
                select name="only" data-autosubmit aria-label="筛选" {
                    option value="" selected[only.is_empty()] { "全部行" }
                    option value="errors" selected[only == "errors"] { "有问题的行" }
                    option value="comments" selected[only == "comments"] { "有待处理批注的行" }
                    option value="deleted" selected[only == "deleted"] { "已删除的行" }
                }
                button type="submit" { "搜索" }
                @if q.q.is_some() || !only.is_empty() { a href={ "/tables/" (id) } { "清除" } }
            }
            span.spacer {}
            @if v.editable {
                form.inline #add-row method="post" action={ "/tables/" (id) "/rows" } {
                    (webkit::csrf_field(&session.csrf))
                    button.primary type="submit" { "新增一行" }
                }
            }
            a.button href={ "/import?table=" (id) } { "导入" }
            a.button #export href={ "/tables/" (id) "/export" } { "导出 Excel" }
        }
    }
}

/// The bar above the grid: the current cell's place, its field's official explanation, its
/// messages and a link to its history (filled in by grid.js).
fn cell_bar(v: &View) -> Markup {
    html! {
        div.panel #cellbar data-table=(v.table.id) aria-live="polite" {
            strong #cell-place { "点击单元格查看说明" }
            span #cell-msg.msg {}
            a #cell-history hidden href="#" { "查看此单元格的修改历史" }
            div #cell-help.muted {
                @if v.editable { "方向键移动，回车或 F2 修改，直接打字即开始填写；回车保存并下移，Tab 右移，Esc 取消；Ctrl+C 复制，Ctrl+V 可粘贴从 Excel 复制的多行多列，Ctrl+Z 撤销。" }
                @else { "本表当前只读。" }
            }
        }
    }
}

/// The explanation of a field, as shown in its header's tooltip and the help bar.
pub fn field_help(f: &Field) -> String {
    let mut parts = vec![format!("{}（{}）", f.label_text(), f.ty.label())];
    if let Some(u) = &f.unit {
        parts.push(format!("单位：{u}"));
    }
    if f.required {
        parts.push("必填".into());
    }
    if let Some(e) = &f.explanation {
        parts.push(format!("内涵/注释：{e}"));
    }
    parts.join("；")
}

fn grid(v: &View) -> Markup {
    let t = &v.table;
    html! {
        table.grid #grid data-table=(t.id) data-editable=(if v.editable { "1" } else { "0" })
            data-enrolled=(if v.enrolled { "1" } else { "0" }) data-append=(if v.append { "1" } else { "0" }) tabindex="0" {
            thead { tr {
                th.rowno { "行号" }
                @for f in &t.fields {
                    th data-field=(f.id) title=(field_help(f)) data-help=(field_help(f)) {
                        (f.label_text())
                        @if f.required { span.req { "*" } }
                        @if let Some(u) = f.unit.as_ref().filter(|u| !f.label_text().contains(&format!("（{u}）"))) {
                            span.muted { "（" (u) "）" }
                        }
                    }
                }
                th.actions { "操作" }
            } }
            tbody {
                @for (n, r) in &v.rows { (row(v, *n, r)) }
                @if v.rows.is_empty() {
                    tr { td.empty colspan=(t.fields.len() + 2) { "没有符合条件的行。" } }
                }
            }
        }
    }
}

fn row(v: &View, number: Option<usize>, r: &Row) -> Markup {
    let id = r.id.as_str();
    let row_problems = v.findings.get(&(id.to_string(), String::new()));
    let row_comments: Vec<&SheetComment> =
        v.comments.iter().filter(|c| !c.resolved && c.row.as_deref() == Some(id)).collect();
    let mut row_class = vec!["rowno"];
    if row_problems.is_some_and(|p| p.iter().any(Finding::is_error)) {
        row_class.push("c-error");
    } else if row_problems.is_some() {
        row_class.push("c-warning");
    }
    if row_comments.iter().any(|c| c.field.is_none()) {
        row_class.push("c-comment");
    }
    let row_title: Vec<String> = row_problems
        .into_iter()
        .flatten()
        .map(|f| f.message.clone())
        .chain(row_comments.iter().filter(|c| c.field.is_none()).map(|c| format!("批注：{}", c.text)))
        .collect();
    let whole_row_pending = v.pending.contains(&(id.to_string(), String::new()));
    html! {
        tr data-row=(id) data-no=[number] class=[r.deleted.then_some("deleted")] {
            td class=(row_class.join(" ")) title=[(!row_title.is_empty()).then(|| row_title.join("\n"))] {
                @match number { Some(n) => (n), None => "已删除" }
            }
            @for f in &v.table.fields { (cell(v, r, f, &row_comments, whole_row_pending)) }
            td.actions {
                @if v.editable && !r.deleted {
                    button.del.danger type="button" data-row=(id) title="删除这一行（可恢复）" { "删除" }
                }
                @if v.editable && r.deleted {
                    button.restore type="button" data-row=(id) { "恢复" }
                }
            }
        }
    }
}

fn cell(v: &View, r: &Row, f: &Field, row_comments: &[&SheetComment], whole_row_pending: bool) -> Markup {
    let id = r.id.as_str();
    let value = r.cells.get(&f.id).map(Value::to_string).unwrap_or_default();
    let problems = v.findings.get(&(id.to_string(), f.id.clone()));
    let notes: Vec<&&SheetComment> = row_comments.iter().filter(|c| c.field.as_deref() == Some(&f.id)).collect();
    let mut class = Vec::new();
    if problems.is_some_and(|p| p.iter().any(Finding::is_error)) {
        class.push("c-error");
    } else if problems.is_some() {
        class.push("c-warning");
    }
    if whole_row_pending || v.pending.contains(&(id.to_string(), f.id.clone())) {
        class.push("c-pending");
    }
    if !notes.is_empty() {
        class.push("c-comment");
    }
    if !v.editable || r.deleted {
        class.push("c-locked");
    }
    let messages: Vec<String> = problems
        .into_iter()
        .flatten()
        .map(|p| p.message.clone())
        .chain(notes.iter().map(|c| format!("批注（{}）：{}", c.author, c.text)))
        .collect();
    let first = problems.and_then(|p| p.first()).map(|p| p.message.as_str());
    html! {
        td data-field=(f.id) class=[(!class.is_empty()).then(|| class.join(" "))]
            title=[(!messages.is_empty()).then(|| messages.join("\n"))] {
            span.v { (value) }
            @if let Some(m) = first { span.msg { (m) } }
        }
    }
}

fn pager(v: &View, q: &GridQuery) -> Markup {
    let summary = html! { "显示 " (v.rows.len()) " 行，符合条件 " (v.matched) " 行，本表共 " (v.live) " 行" };
    paging::pager(v.paging, |n| link(v, q, n), summary)
}

/// What the cell marks mean; where the agent syncs, an unmarked cell is also on the hub.
fn legend(enrolled: bool) -> Markup {
    html! {
        p.legend.muted {
            span { i.l-error {} "有错误（提交前必须改正）" }
            span { i.l-warning {} "有警告" }
            @if enrolled {
                span { i.l-pending {} "已保存在本机，尚未同步到中心端" }
                span #legend-synced { i.l-synced {} "无标记：已同步到中心端" }
            } @else {
                span #legend-local { "本机尚未注册到中心端：数据只保存在本机" }
            }
            span { i.l-comment {} "有批注" }
            span { i.l-locked {} "只读" }
        }
    }
}
