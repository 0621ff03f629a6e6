//! 我的报表: the department's tables with their state, deadline, size, problems, sync state
//! and the office's comments waiting; and the helpers the other screens share about a sheet.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::Response;
use caiji_shared::validate::Tally;
use caiji_shared::workflow::{RecordKind, State as Flow};
use chrono::NaiveDate;
use maud::{Markup, html};

use super::{Session, WebState, frame, with_store};
use crate::store::Store;
use crate::webkit::{self, WebError};

/// A comment the office (or the head) left on a sheet, a row or a cell.
#[derive(Debug, Clone)]
pub struct SheetComment {
    pub id: String,
    pub row: Option<String>,
    pub field: Option<String>,
    pub text: String,
    pub author: String,
    pub at: i64,
    pub resolved: bool,
}

/// Every comment on a table's sheet, oldest first, with whether it was dealt with.
pub fn comments(store: &Store, table: &str) -> Result<Vec<SheetComment>, WebError> {
    let records = store.records(&store.sheet_id(table))?;
    let resolved: Vec<&str> = records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Resolve { comment, .. } => Some(comment.as_str()),
            _ => None,
        })
        .collect();
    Ok(records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Comment(c) => Some(SheetComment {
                id: r.id.clone(),
                row: c.row.clone(),
                field: c.field.clone(),
                text: c.text.clone(),
                author: c.author.clone(),
                at: c.at,
                resolved: resolved.contains(&r.id.as_str()),
            }),
            _ => None,
        })
        .collect())
}

/// The reasons given with returns (by the head or the office), newest last: (who, what, why).
pub fn reasons(store: &Store, table: &str) -> Result<Vec<(String, String, String, i64)>, WebError> {
    Ok(store
        .records(&store.sheet_id(table))?
        .into_iter()
        .filter(|r| r.refused.is_none())
        .filter_map(|r| match r.kind {
            RecordKind::Event(e) => e.reason.map(|why| (e.actor, e.action.label().to_string(), why, e.at)),
            _ => None,
        })
        .collect())
}

/// Days from `today` to the deadline (`YYYY-MM-DD`): negative when it has passed.
pub fn days_left(deadline: &str, today: NaiveDate) -> Option<i64> {
    let d = NaiveDate::parse_from_str(deadline.trim(), "%Y-%m-%d").ok()?;
    Some((d - today).num_days())
}

/// "还剩 3 天", "今天截止", "已逾期 2 天".
pub fn days_text(days: i64) -> String {
    match days {
        d if d > 0 => format!("还剩 {d} 天"),
        0 => "今天截止".to_string(),
        d => format!("已逾期 {} 天", -d),
    }
}

/// Why a sheet in `state` cannot be edited, or `None` if it can.
pub fn locked_reason(state: Flow) -> Option<String> {
    if state.editable() {
        return None;
    }
    let why = match state {
        Flow::DeptReview => "已提交部门审核，等待部门负责人审核；如需修改，请部门负责人退回",
        Flow::Submitted | Flow::OfficeReview => "已报送平台管理办公室，正在审核；如需修改，请等待退回",
        Flow::Accepted | Flow::Merged => "平台管理办公室已审核通过",
        Flow::Locked | Flow::Approved | Flow::Reported => "数据已锁定；如需修改，请联系平台管理办公室例外开放",
        _ => "当前状态不允许修改",
    };
    Some(format!("本表状态为「{}」，不能修改：{why}。", state.label()))
}

struct Line {
    id: String,
    title: String,
    state: Flow,
    changed: bool,
    deadline: Option<String>,
    rows: usize,
    tally: Tally,
    pending: Option<bool>,
    open_comments: usize,
}

fn lines(s: &mut Store, cache: &Mutex<Option<super::grid::Checked>>) -> Result<Vec<Line>, WebError> {
    let plan = s.plan()?;
    let sync = s.sheet_sync()?;
    let enrolled = s.hub()?.is_some();
    let stored = s.stored_tables()?;
    let tables: Vec<(String, String)> = s.planned_tables().iter().map(|t| (t.id.clone(), t.title())).collect();
    let mut out = Vec::new();
    for (id, title) in tables {
        let (rows, tally) = if stored.contains(&id) {
            match super::grid::cached_tally(s, cache, &id) {
                Some(got) => got,
                None => {
                    let (rows, findings) = crate::cmd::sheet_findings(s, &id)?;
                    (rows.len(), Tally::of(&findings))
                }
            }
        } else {
            (0, Tally::default())
        };
        let pending = enrolled.then(|| {
            sync.iter().find(|x| x.table == id).map_or(stored.contains(&id), |x| x.pending || x.last_ok.is_none())
        });
        out.push(Line {
            state: s.sheet_state(&id)?,
            changed: crate::cmd_workflow::changed_since_submission(s, &id)?,
            deadline: plan.as_ref().and_then(|p| p.get(&id).cloned().flatten()),
            rows,
            tally,
            pending,
            open_comments: comments(s, &id)?.iter().filter(|c| !c.resolved).count(),
            id,
            title,
        });
    }
    Ok(out)
}

pub async fn home(State(state): State<Arc<WebState>>, session: Session) -> Result<Response, WebError> {
    let st = state.clone();
    with_store(&state, move |s| {
        let lines = lines(s, &st.grid)?;
        let today = chrono::Local::now().date_naive();
        let f = frame(s, &session, "/", session.flash.clone());
        let body = html! {
            h1 { "我的报表" }
            p.hint { "点击表名打开表格填报。状态后的 * 表示报送后又有修改，不在已报送的版本中。" }
            div.toolbar {
                input type="search" placeholder="筛选表号或表名…" data-filter="#tables" aria-label="筛选报表";
                span.spacer {}
                a.button href="/import" { "导入 Excel" }
            }
            table.list #tables {
                thead { tr {
                    th { "表号" } th { "表名" } th { "状态" } th { "截止日期" } th.num { "行数" }
                    th.num { "错误" } th.num { "警告" } th { "同步" } th { "待处理批注" }
                } }
                tbody {
                    @for l in &lines { (line(l, today)) }
                }
            }
        };
        Ok(webkit::page(&f, "我的报表", body))
    })
    .await
}

fn line(l: &Line, today: NaiveDate) -> Markup {
    let href = format!("/tables/{}", l.id);
    let days = l.deadline.as_deref().and_then(|d| days_left(d, today));
    let late = days.is_some_and(|d| d < 0) && matches!(l.state, Flow::Draft | Flow::DeptReview | Flow::Returned);
    html! {
        tr data-table=(l.id) {
            td { a href=(href) { (l.id) } }
            td { a href=(href) { (l.title.trim_start_matches(&l.id).trim()) } }
            td { (webkit::state_badge(l.state)) @if l.changed { " *" } }
            td class=[late.then_some("late")] {
                @if let Some(d) = &l.deadline {
                    (d) @if let Some(n) = days { " （" (days_text(n)) "）" }
                } @else { span.muted { "—" } }
            }
            td.num { (l.rows) }
            td.num.errors { @if l.tally.errors > 0 { (l.tally.errors) } @else { span.muted { "0" } } }
            td.num.warnings { @if l.tally.warnings > 0 { (l.tally.warnings) } @else { span.muted { "0" } } }
            td {
                @match l.pending {
                    None => span.muted { "未连接中心端" },
                    Some(true) => span.warnings { "待发送" },
                    Some(false) => "已同步",
                }
            }
            td {
                @if l.open_comments > 0 {
                    a.errors href={ (href) "#comments" } { (l.open_comments) " 条待处理" }
                } @else { span.muted { "—" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_to_a_deadline() {
        let today = NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
        assert_eq!(days_left("2025-10-04", today), Some(3));
        assert_eq!(days_left(" 2025-10-01 ", today), Some(0));
        assert_eq!(days_left("2025-09-29", today), Some(-2));
        assert_eq!(days_left("下周", today), None);
        assert_eq!(days_text(3), "还剩 3 天");
        assert_eq!(days_text(0), "今天截止");
        assert_eq!(days_text(-2), "已逾期 2 天");
    }

    #[test]
    fn only_editable_states_have_no_reason() {
        assert_eq!(locked_reason(Flow::Draft), None);
        assert_eq!(locked_reason(Flow::Returned), None);
        assert!(locked_reason(Flow::DeptReview).unwrap().contains("部门审核中"));
        assert!(locked_reason(Flow::Locked).unwrap().contains("已锁定"));
    }
}
