//! The department's review on a table's page: the collector submits to the head; the head
//! returns (with a reason) or approves and submits to the office. The comments the office
//! left, listed with their row and field, each resolvable.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use caiji_shared::catalog::Table;
use caiji_shared::validate::Tally;
use caiji_shared::workflow::{Action, Role, State as Flow};
use maud::{Markup, html};
use serde::Deserialize;

use super::tables::{comments, reasons};
use super::{SITE, Session, WebState, with_store};
use crate::store::Store;
use crate::webkit::{self, CsrfForm, WebError};

pub fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/tables/{id}/act", post(act)).route("/tables/{id}/comments/{comment}/resolve", post(resolve))
}

/// The action a form names, and whether this role may take it.
pub fn parse_action(name: &str, role: Role) -> Result<Action, String> {
    let action = match name {
        "submit" => Action::Submit,
        "dept_return" => Action::DeptReturn,
        "dept_approve" => Action::DeptApprove,
        _ => return Err(format!("未知的操作「{name}」")),
    };
    if matches!(action, Action::DeptReturn | Action::DeptApprove) && role != Role::DeptHead {
        return Err(format!("只有部门负责人可以「{}」；您是{}", action.label(), role.label()));
    }
    Ok(action)
}

/// The review panel on a table's page.
pub fn panel(s: &mut Store, session: &Session, t: &Table) -> Result<Markup, WebError> {
    let state = s.sheet_state(&t.id)?;
    let all = comments(s, &t.id)?;
    let reasons = reasons(s, &t.id)?;
    // Rows are numbered only for the comments' places: not read at all when there are none.
    let rows = if all.is_empty() { Vec::new() } else { s.sheet(&t.id)?.rows() };
    let live: Vec<&str> = rows.iter().filter(|r| !r.deleted).map(|r| r.id.as_str()).collect();
    let place = |row: &Option<String>, field: &Option<String>| -> String {
        let r = row.as_deref().map(|id| match live.iter().position(|x| *x == id) {
            Some(i) => format!("第{}行", i + 1),
            None => "已删除的行".to_string(),
        });
        let f = field.as_deref().and_then(|f| t.field(f)).map(|f| format!("「{}」", f.label_text()));
        match (r, f) {
            (None, _) => "整张表".to_string(),
            (Some(r), f) => format!("{r}{}", f.unwrap_or_default()),
        }
    };
    let open: Vec<_> = all.iter().filter(|c| !c.resolved).collect();
    let done: Vec<_> = all.iter().filter(|c| c.resolved).collect();
    let head = session.role == Role::DeptHead;
    let can_submit = state.editable();
    let can_review = head && matches!(state, Flow::DeptReview | Flow::Draft | Flow::Returned | Flow::Reopened);
    let last_reason = if matches!(state, Flow::Draft | Flow::Returned) { reasons.last() } else { None };
    let id = &t.id;
    let back = format!("/tables/{id}");
    Ok(html! {
        section.panel #review {
            div.toolbar {
                strong { "审核流程" }
                span { "当前状态：" (webkit::state_badge(state)) }
                span.spacer {}
                @if can_submit {
                    form.inline #submit-form method="post" action={ "/tables/" (id) "/act" }
                        data-confirm="确定提交部门负责人审核吗？提交后不能再修改，除非被退回。" {
                        (webkit::csrf_field(&session.csrf))
                        input type="hidden" name="action" value="submit";
                        button.primary type="submit" { "提交部门审核" }
                    }
                }
                @if can_review {
                    form.inline #approve-form method="post" action={ "/tables/" (id) "/act" }
                        data-confirm="确定审核通过并报送平台管理办公室吗？" {
                        (webkit::csrf_field(&session.csrf))
                        input type="hidden" name="action" value="dept_approve";
                        button.primary type="submit" { "审核通过并报送" }
                    }
                }
            }
            @if let Some((who, what, why, at)) = last_reason {
                p.flash.warn #return-reason { (what) "（" (who) "，" (crate::cmd::local_time(*at)) "）：" (why) }
            }
            @if head && state == Flow::DeptReview {
                form #return-form method="post" action={ "/tables/" (id) "/act" } {
                    (webkit::csrf_field(&session.csrf))
                    input type="hidden" name="action" value="dept_return";
                    label { "退回原因（必填）" input type="text" name="reason" size="50" required; }
                    button.danger type="submit" { "退回采集人修改" }
                }
            }
            @if !open.is_empty() || !done.is_empty() {
                div #comments {
                    h3 { "批注（待处理 " (open.len()) " 条）" }
                    @for c in &open {
                        div.comment data-comment=(c.id) {
                            @if let Some(r) = &c.row {
                                a href={ "/tables/" (id) "?focus=" (r) } { (place(&c.row, &c.field)) }
                            } @else { (place(&c.row, &c.field)) }
                            "：" (c.text) span.muted { "（" (c.author) "，" (crate::cmd::local_time(c.at)) "）" }
                            " "
                            form.inline.resolve method="post" action={ "/tables/" (id) "/comments/" (c.id) "/resolve" } {
                                (webkit::csrf_field(&session.csrf))
                                input type="hidden" name="back" value=(back);
                                button type="submit" { "标记为已处理" }
                            }
                        }
                    }
                    @if !done.is_empty() {
                        details {
                            summary { "已处理的批注（" (done.len()) " 条）" }
                            @for c in &done {
                                div.comment.resolved { (place(&c.row, &c.field)) "：" (c.text) span.muted { "（" (c.author) "）" } }
                            }
                        }
                    }
                }
            }
        }
    })
}

#[derive(Deserialize)]
struct ActForm {
    action: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn act(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ActForm>,
) -> Result<Response, WebError> {
    let action = parse_action(&form.action, session.role).map_err(WebError::forbidden)?;
    with_store(&state, move |s| {
        let t = s.table(&id)?.clone();
        let back = format!("/tables/{}", t.id);
        let reason = form.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        if action.needs_reason() && reason.is_none() {
            return Ok(SITE.redirect_with(&back, webkit::failed(format!("{}：退回时必须填写原因", t.title()))));
        }
        if matches!(action, Action::Submit | Action::DeptApprove) {
            let (_, findings) = crate::cmd::sheet_findings(s, &t.id)?;
            let tally = Tally::of(&findings);
            if tally.errors > 0 {
                let first: Vec<String> =
                    findings.iter().filter(|f| f.is_error()).take(3).map(|f| f.to_string()).collect();
                let text = format!(
                    "{} 还有 {} 处错误，不能{}：{}{}。请改正表格中标红的单元格后再试。",
                    t.title(),
                    tally.errors,
                    action.label(),
                    first.join("；"),
                    if tally.errors > 3 { "……" } else { "" }
                );
                return Ok(SITE.redirect_with(&format!("{back}?only=errors"), webkit::failed(text)));
            }
        }
        match crate::cmd_workflow::act_as(s, &session.user, session.role, &t.id, action, reason) {
            Ok(text) => Ok(SITE.redirect_with(&back, webkit::ok(text.trim().to_string()))),
            Err(e) => Ok(SITE.redirect_with(&back, webkit::failed(e.to_string().trim().to_string()))),
        }
    })
    .await
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    back: Option<String>,
}

async fn resolve(
    State(state): State<Arc<WebState>>,
    session: Session,
    Path((id, comment)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ResolveForm>,
) -> Result<Response, WebError> {
    with_store(&state, move |s| {
        let t = s.table(&id)?.clone();
        let back = form
            .back
            .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
            .unwrap_or(format!("/tables/{}", t.id));
        if !comments(s, &t.id)?.iter().any(|c| c.id == comment) {
            return Ok(SITE.redirect_with(&back, webkit::failed(format!("{} 没有这条批注", t.title()))));
        }
        crate::cmd_workflow::resolve_as(s, &session.user, &comment)?;
        Ok(SITE.redirect_with(&back, webkit::ok("批注已标记为已处理，将随下次同步告知中心端")))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_heads_return_or_approve() {
        assert_eq!(parse_action("submit", Role::Collector), Ok(Action::Submit));
        assert!(parse_action("dept_approve", Role::Collector).unwrap_err().contains("只有部门负责人"));
        assert!(parse_action("dept_return", Role::Collector).is_err());
        assert_eq!(parse_action("dept_approve", Role::DeptHead), Ok(Action::DeptApprove));
        assert!(parse_action("lock", Role::DeptHead).unwrap_err().contains("未知"));
    }
}
