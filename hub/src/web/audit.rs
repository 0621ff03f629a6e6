//! 审计日志: who did what and when, newest first, narrowed by department, table, person and
//! action. For the office (not for department heads).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use caiji_agent::webkit::{self, WebError};
use maud::html;
use serde::Deserialize;

use super::{Session, frame, office_only, when, with_store};
use crate::server::AppState;
use crate::store::AuditFilter;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/audit", get(page))
}

/// The Chinese name of an audit action.
fn action_label(action: &str) -> &str {
    match action {
        "sign_in" => "登录",
        "sign_in_failed" => "登录失败",
        "workflow" => "流转与批注",
        "merge" => "汇总",
        "export" => "导出上报",
        "export_download" => "下载上报文件",
        "view_merged" => "查看全校汇总",
        "rollover" => "开始新学年",
        "department_added" => "添加部门",
        "plan_changed" => "修改采集计划",
        "enroll_code_issued" => "签发注册码",
        "enrolled" => "采集端注册",
        "agent_revoked" => "停用采集端",
        "user_added" => "添加用户",
        "sync_refused" | "sync_rejected" => "同步被拒绝",
        "forbidden" => "越权请求",
        other => other,
    }
}

#[derive(Deserialize, Default)]
struct Filter {
    department: Option<String>,
    table: Option<String>,
    person: Option<String>,
    action: Option<String>,
    /// Kept as text: a limit that is not a number falls back to the default rather than
    /// failing the page with the framework's (English) message.
    limit: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

async fn page(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(q): Query<Filter>,
) -> Result<Response, WebError> {
    office_only(&session).map_err(|_| WebError::forbidden("部门负责人（只读）不能查看审计日志"))?;
    let st = state.clone();
    with_store(&state, move |s| {
        let filter =
            AuditFilter { department: given(&q.department), table: given(&q.table), person: given(&q.person), action: given(&q.action) };
        let limit = q.limit.as_deref().and_then(|l| l.trim().parse::<usize>().ok()).unwrap_or(500).clamp(1, 5000);
        let entries = s.audit_query(&filter, limit)?;
        let departments = s.departments()?;
        let actions = s.audit_actions()?;
        let tables = s.edition().tables.clone();
        let sel = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
        let body = html! {
            div.toolbar { h1 { "审计日志" } span.spacer {} button type="button" data-print { "打印" } }
            form.toolbar.panel method="get" action="/audit" #audit-filter {
                label { "部门" select name="department" data-autosubmit {
                    option value="" { "全部" }
                    @for d in &departments { option value=(d.code) selected[sel(&filter.department, &d.code)] { (d.name) } }
                } }
                label { "表" select name="table" data-autosubmit {
                    option value="" { "全部" }
                    @for t in &tables { option value=(t.id) selected[sel(&filter.table, &t.id)] { (t.id) " " (t.name) } }
                } }
                label { "人员" input type="text" name="person" value=(filter.person.clone().unwrap_or_default()) placeholder="用户名或采集端"; }
                label { "操作" select name="action" data-autosubmit {
                    option value="" { "全部" }
                    @for a in &actions { option value=(a) selected[sel(&filter.action, a)] { (action_label(a)) } }
                } }
                button type="submit" #audit-apply { "筛选" }
                a href="/audit" { "清除筛选" }
            }
            p.muted #audit-count { "共 " (entries.len()) " 条" @if entries.len() >= limit { "（只显示最近 " (limit) " 条）" } }
            div.scroll {
                table.list #audit {
                    thead { tr { th { "时间" } th { "人员" } th { "操作" } th { "内容" } } }
                    tbody { @for (at, actor, action, detail) in &entries { tr {
                        td { (when(*at)) } td { (actor) } td { (action_label(action)) } td { (detail) }
                    } } }
                }
            }
        };
        let f = frame(&st, s, &session, "/audit", &[]);
        Ok(webkit::page(&f, "审计日志", body))
    })
    .await
}
