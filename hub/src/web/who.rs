//! 谁改了这个数: one cell's history — who changed it, when, old → new — and whether each change
//! came before or after the sheet's submission, acceptance, lock and final approval. Linked from
//! every data cell of the review page and of the merged tables; for the office, as the JSON
//! API's `who` (department heads, read-only, are refused).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use caiji_agent::webkit::{self, WebError};
use maud::html;
use serde::Deserialize;

use super::auth::urlencode;
use super::{Session, department_name, frame, office_only, sheet_id, when, with_store};
use crate::server::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/who", get(page))
}

/// The link to a cell's history (the row by its id, the field by its id).
pub fn href(table: &str, department: &str, row: &str, field: &str) -> String {
    format!(
        "/who?table={}&department={}&row={}&field={}",
        urlencode(table),
        urlencode(department),
        urlencode(row),
        urlencode(field)
    )
}

#[derive(Deserialize)]
struct WhoQuery {
    table: Option<String>,
    department: Option<String>,
    row: Option<String>,
    field: Option<String>,
}

fn required(v: Option<String>, what: &str) -> Result<String, WebError> {
    v.map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebError::bad_request(format!("请指定{what}（链接不完整）")))
}

fn show(v: &Option<caiji_shared::Value>) -> String {
    v.as_ref().map_or_else(|| "（空）".to_string(), |v| v.to_string())
}

async fn page(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(q): Query<WhoQuery>,
) -> Result<Response, WebError> {
    office_only(&session).map_err(|_| WebError::forbidden("部门负责人（只读）不能查看单元格的修改记录"))?;
    let table = required(q.table, "表")?;
    let department = required(q.department, "部门")?;
    let row = required(q.row, "行")?;
    let field = required(q.field, "字段")?;
    let st = state.clone();
    with_store(&state, move |s| {
        let id = sheet_id(s, &table, &department)?;
        let h = crate::year::cell_history(s, &id, &row, &field).map_err(|e| {
            let e = WebError::from(e);
            // An unknown row or field is not a malformed request but a missing thing.
            if e.status == axum::http::StatusCode::BAD_REQUEST { WebError::not_found(e.message) } else { e }
        })?;
        let key: String = h
            .table
            .key
            .iter()
            .map(|k| h.row.cells.get(k).map(|v| v.to_string()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("+");
        let row_name = if key.trim_matches('+').is_empty() { h.row.id.0.chars().take(8).collect() } else { key };
        let dept = department_name(s, &id.department);
        // A sheet may be submitted (or accepted, locked) more than once: number them then.
        let labels: Vec<String> = h
            .milestones
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let same = h.milestones.iter().filter(|x| x.verb == m.verb).count();
                let nth = h.milestones[..=i].iter().filter(|x| x.verb == m.verb).count();
                if same > 1 {
                    format!("第{nth}次{}（{}）", m.verb, m.actor)
                } else {
                    format!("{}（{}）", m.verb, m.actor)
                }
            })
            .collect();
        let body = html! {
            div.toolbar {
                h1 { "谁改了这个数" }
                span.spacer {}
                a href={ "/review/" (urlencode(&id.table)) "/" (urlencode(&id.department)) } { "审核页面" }
                a href={ "/merged/" (urlencode(&id.table)) } { "全校汇总" }
                button type="button" data-print { "打印" }
            }
            dl.facts #who-cell {
                dt { "表" } dd { (h.table.title()) }
                dt { "部门" } dd { (dept) "（" (id.department) "）" }
                dt { "行" } dd { (row_name) @if h.row.deleted { "（已删除）" } }
                dt { "字段" } dd { (h.field.label_text()) }
                dt { "现在的值" } dd #who-now { (show(&h.row.cells.get(&h.field.id).cloned())) }
            }
            section #who-milestones {
                h2 { "流转节点" }
                @if h.milestones.is_empty() { p.muted { "这张表还没有报送过。" } }
                ul { @for (m, label) in h.milestones.iter().zip(&labels) {
                    li { span.muted { (when(m.at)) " " } (label) }
                } }
            }
            section {
                h2 { "修改记录（" (h.changes.len()) " 次）" }
                @if h.changes.is_empty() { p.muted #who-none { "这个单元格没有修改记录。" } }
                @else {
                    table.list #who {
                        thead { tr { th { "时间" } th { "修改人" } th { "原值 → 新值" } th { "与流转节点的先后" } } }
                        tbody { @for c in &h.changes { tr {
                            td { (when(c.at)) }
                            td { (c.user) }
                            td.changed { del { (show(&c.old)) } " → " ins { (show(&c.new)) } }
                            td {
                                @for (i, (label, before)) in labels.iter().zip(&c.before).enumerate() {
                                    @if i > 0 { "，" }
                                    span class=(if *before { "before" } else { "after" }) {
                                        (label) (if *before { "前" } else { "后" })
                                    }
                                }
                            }
                        } } }
                    }
                }
            }
        };
        let title = format!("修改记录 {} {}", id.table, id.department);
        let f = frame(&st, s, &session, "", &[]);
        Ok(webkit::page(&f, &title, body))
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_encode_their_parts() {
        assert_eq!(
            super::href("A6-1-1", "jsjx", "T 1&x", "emp_no"),
            "/who?table=A6-1-1&department=jsjx&row=T%201%26x&field=emp_no"
        );
    }
}
