//! 进度看板: every department's sheets of the year by table, each cell the sheet's state as a
//! coloured badge (with lateness), totals per department and per table, and a link to the
//! review page. `hub.js` polls `/board/version` and reloads the page when anything changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use caiji_agent::webkit::{self, WebError};
use caiji_shared::sheet::SheetId;
use caiji_shared::workflow::{State as St, is_late};
use maud::{Markup, html};

use super::{Session, frame, with_store};
use crate::server::AppState;
use crate::store::{HubStore, OfficeRole};

pub fn routes() -> axum::Router<Arc<AppState>> {
    Router::new().route("/", get(board)).route("/board/version", get(version))
}

/// One cell of the board.
struct Cell {
    state: St,
    late: bool,
    deadline: Option<String>,
}

/// Counts of one row or column of the board.
#[derive(Default)]
struct Totals {
    sheets: usize,
    submitted: usize,
    accepted: usize,
    returned: usize,
    late: usize,
}

impl Totals {
    fn add(&mut self, c: &Cell) {
        self.sheets += 1;
        match c.state {
            St::Submitted | St::OfficeReview => self.submitted += 1,
            St::Accepted | St::Merged | St::Locked | St::Approved | St::Reported => self.accepted += 1,
            St::Returned => self.returned += 1,
            _ => {}
        }
        if c.late {
            self.late += 1;
        }
    }

    fn render(&self) -> Markup {
        html! {
            span.totals title="待审 / 已通过 / 已退回 / 逾期 / 共计" {
                "待审 " (self.submitted) " · 通过 " (self.accepted) " · 退回 " (self.returned)
                @if self.late > 0 { " · " span.late { "逾期 " (self.late) } }
                " / " (self.sheets)
            }
        }
    }
}

/// Whether a sheet is late: submitted after its deadline, or not submitted and the deadline
/// has passed.
fn lateness(records: &[caiji_shared::workflow::Record], state: St, deadline: Option<&str>) -> bool {
    let late_submission = records.iter().any(|r| r.late && r.refused.is_none());
    let waiting = matches!(state, St::Draft | St::DeptReview | St::Returned | St::Reopened);
    late_submission || (waiting && is_late(deadline, crate::store::now()))
}

fn render(store: &HubStore) -> Result<Markup, WebError> {
    let info = store.info().clone();
    let departments = store.departments()?;
    let mut cells: BTreeMap<(String, String), Cell> = BTreeMap::new();
    for d in &departments {
        for t in store.plan_for(&d.code)?.tables {
            let id = SheetId::new(&info.edition, info.year, &t.table, &d.code);
            let records = store.sheet_records(&id)?;
            let state = caiji_shared::workflow::state_of(&records);
            let late = lateness(&records, state, t.deadline.as_deref());
            cells.insert((t.table.clone(), d.code.clone()), Cell { state, late, deadline: t.deadline });
        }
    }
    let tables: Vec<&caiji_shared::Table> = store
        .edition()
        .tables
        .iter()
        .filter(|t| departments.iter().any(|d| cells.contains_key(&(t.id.clone(), d.code.clone()))))
        .collect();
    let mut by_dept: BTreeMap<&str, Totals> = BTreeMap::new();
    let mut by_table: BTreeMap<&str, Totals> = BTreeMap::new();
    let mut all = Totals::default();
    for ((t, d), c) in &cells {
        by_dept.entry(d.as_str()).or_default().add(c);
        by_table.entry(t.as_str()).or_default().add(c);
        all.add(c);
    }
    let version = store.board_version()?;
    Ok(html! {
        div.toolbar {
            h1 { "进度看板" }
            span.spacer {}
            input type="search" placeholder="筛选表名…" data-filter="#board" aria-label="筛选表";
            span.muted { "全校：" (all.render()) }
            button type="button" data-print { "打印" }
        }
        @if departments.is_empty() {
            p.hint { "还没有部门。请在" a href="/plan" { "采集计划" } "中添加部门。" }
        } @else {
            div.scroll {
                table.list.board #board data-version=(version) {
                    thead {
                        tr {
                            th { "表" }
                            @for d in &departments { th { (d.name) br; span.muted { (d.code) } } }
                            th { "合计" }
                        }
                    }
                    tbody {
                        @for t in &tables {
                            tr {
                                th { (t.id) " " (t.name) }
                                @for d in &departments {
                                    @if let Some(c) = cells.get(&(t.id.clone(), d.code.clone())) {
                                        td.cell id={ "cell-" (t.id) "-" (d.code) } data-state=(webkit::state_class(c.state)) {
                                            a href={ "/review/" (t.id) "/" (d.code) } { (webkit::state_badge(c.state)) }
                                            @if c.late { " " span.late { "逾期" } }
                                            @if let Some(dl) = &c.deadline { br; span.muted { "截止 " (dl) } }
                                        }
                                    } @else {
                                        td.none { "—" }
                                    }
                                }
                                td { @if let Some(t) = by_table.get(t.id.as_str()) { (t.render()) } }
                            }
                        }
                    }
                    tfoot {
                        tr {
                            th { "部门合计" }
                            @for d in &departments {
                                td { @if let Some(t) = by_dept.get(d.code.as_str()) { (t.render()) } }
                            }
                            td { (all.render()) }
                        }
                    }
                }
            }
            p.hint.no-print { "页面每隔几秒自动检查更新；各部门同步后，状态会自动刷新。点击状态进入审核页面。" }
        }
    })
}

async fn board(State(state): State<Arc<AppState>>, session: Session) -> Result<Response, WebError> {
    if session.user.role == OfficeRole::DeptViewer {
        // Department heads see the school-wide tables only.
        return Ok(webkit::redirect("/merged"));
    }
    let st = state.clone();
    with_store(&state, move |s| {
        let body = render(s)?;
        let f = frame(&st, s, &session, "/", &["hub.js"]);
        Ok(webkit::page(&f, "进度看板", body))
    })
    .await
}

/// What the board's script polls: a version that changes whenever the board may have.
async fn version(State(state): State<Arc<AppState>>, session: Session) -> Result<Response, Response> {
    super::office_only(&session).map_err(|e| webkit::json_error(e.status, e.message))?;
    let v =
        with_store(&state, |s| Ok(s.board_version()?)).await.map_err(|e| webkit::json_error(e.status, e.message))?;
    Ok(Json(serde_json::json!({ "version": v })).into_response())
}
