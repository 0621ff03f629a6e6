//! The hub's web screens, for the office, the final approver and department heads: sign-in,
//! the progress board, reviewing a submission, the merged school-wide tables and the year's
//! steps, the collection plan, enrollment codes and users, and the audit log. They sit on the
//! same HTTPS server as the API and check each role as the API does; rendered with
//! [`caiji_agent::webkit`], shared with the agent's screens.

mod audit;
mod auth;
mod board;
pub(crate) mod merged;
mod plan;
pub(crate) mod review;
#[cfg(test)]
mod tests;
mod who;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use caiji_agent::webkit::{self, Frame, Site, WebError};
use caiji_shared::sheet::SheetId;

pub use auth::Session;

use crate::server::{AppError, AppState};
use crate::store::{HubError, HubStore, OfficeRole};

/// The hub's site settings (`secure` unless serving plain HTTP for development).
pub fn site(secure: bool) -> Site {
    Site { secure, app: "中心端", cookie: "caiji-hub" }
}

/// The hub's own static files (besides the kit's).
const OWN_ASSETS: &[(&str, &str)] =
    &[("hub.js", include_str!("assets/hub.js")), ("site.css", include_str!("assets/site.css"))];

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/static/{name}", get(asset))
        .merge(auth::routes())
        .merge(board::routes())
        .merge(review::routes())
        .merge(merged::routes())
        .merge(plan::routes())
        .merge(audit::routes())
        .merge(who::routes())
        .fallback(not_found)
}

/// Any other address: a Chinese "no such page" (with the same security headers).
async fn not_found(uri: axum::http::Uri) -> WebError {
    WebError::not_found(format!("没有这个页面：{}", uri.path()))
}

async fn asset(WebPath(name): WebPath<String>) -> Response {
    webkit::assets::serve(&name, OWN_ASSETS)
}

/// `axum::extract::Path` with a Chinese refusal: a malformed address (say, percent-encoded
/// bytes that are not UTF-8) gets the error page, not the framework's English text.
pub struct WebPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S> for WebPath<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, WebError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(WebPath(v)),
            Err(e) => {
                tracing::debug!(error = %e, "网址无效");
                Err(WebError::bad_request(format!("网址「{}」不正确，请从页面上的链接进入", parts.uri.path())))
            }
        }
    }
}

/// Runs `f` on the store off the async threads.
pub async fn with_store<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&mut HubStore) -> Result<T, WebError> + Send + 'static,
) -> Result<T, WebError> {
    crate::server::api::with_store(state, move |s| f(s).map_err(|e| AppError::new(e.status, "web", e.message)))
        .await
        .map_err(WebError::from)
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError::new(e.status, e.message)
    }
}

impl From<HubError> for WebError {
    fn from(e: HubError) -> Self {
        AppError::from(e).into()
    }
}

/// The frame for a signed-in page; the navigation shows what the role may use.
pub fn frame<'a>(
    state: &AppState,
    store: &HubStore,
    session: &Session,
    active: &'a str,
    scripts: &'a [&'a str],
) -> Frame<'a> {
    let info = store.info();
    let nav = match session.user.role {
        OfficeRole::Admin | OfficeRole::Reviewer | OfficeRole::Approver => vec![
            ("进度看板", "/".to_string()),
            ("全校汇总", "/merged".to_string()),
            ("采集计划", "/plan".to_string()),
            ("审计日志", "/audit".to_string()),
        ],
        OfficeRole::DeptViewer => vec![("全校汇总", "/merged".to_string())],
    };
    Frame {
        site: state.site,
        place: format!("{} · {}", info.school, info.year),
        user: Some(format!("{}（{}）", session.user.name, session.user.role.label())),
        csrf: Some(session.csrf.clone()),
        nav,
        active,
        flash: session.flash.clone(),
        scripts,
    }
}

/// Refuses unless the role may act in the workflow (not a read-only department head).
pub fn office_only(session: &Session) -> Result<(), WebError> {
    if session.user.role.workflow().is_none() {
        return Err(WebError::new(StatusCode::FORBIDDEN, "只读用户不能执行此操作"));
    }
    Ok(())
}

/// Refuses unless the user is the office's administrator.
pub fn admin_only(session: &Session, what: &str) -> Result<(), WebError> {
    if session.user.role != OfficeRole::Admin {
        return Err(WebError::forbidden(format!("只有平台管理员可以{what}")));
    }
    Ok(())
}

/// A sheet of this year by table and department, with Chinese errors naming both.
pub fn sheet_id(store: &HubStore, table: &str, department: &str) -> Result<SheetId, WebError> {
    let t = store.table(table).map_err(|_| WebError::not_found(format!("没有表「{table}」")))?.id.clone();
    store.department(department).map_err(|_| WebError::not_found(format!("没有部门「{department}」")))?;
    Ok(SheetId::new(&store.info().edition, store.info().year, &t, department))
}

/// The outcome of a form: back to `to` with the result (or the problem) as a notice.
pub fn back(state: &AppState, to: &str, result: Result<String, WebError>) -> Result<Response, WebError> {
    match result {
        Ok(text) => Ok(state.site.redirect_with(to, webkit::ok(short(&text)))),
        // Failures of the server, and refusals of the person's role, are error pages (403 for
        // a role that may not do this); only problems with what was asked are notices.
        Err(e)
            if e.status.is_server_error()
                || e.status == StatusCode::FORBIDDEN
                || e.status == StatusCode::UNAUTHORIZED =>
        {
            Err(e)
        }
        Err(e) => Ok(state.site.redirect_with(to, webkit::failed(short(&e.message)))),
    }
}

/// A notice short enough for a cookie.
fn short(text: &str) -> String {
    let one: String = text.trim().lines().take(3).collect::<Vec<_>>().join("；");
    if one.chars().count() > 300 { format!("{}…", one.chars().take(300).collect::<String>()) } else { one }
}

/// A time as people read it (local time).
pub fn when(t: i64) -> String {
    caiji_agent::cmd::local_time(t)
}

/// A department's name by code (the code itself if unknown).
pub fn department_name(store: &HubStore, code: &str) -> String {
    store.department(code).map(|d| d.name).unwrap_or_else(|_| code.to_string())
}
