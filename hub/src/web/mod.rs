//! The hub's web screens, for the office, the final approver and department heads: sign-in,
//! the progress board, reviewing a submission, the merged school-wide tables and the year's
//! steps, the collection plan, enrollment codes and users, and the audit log. They sit on the
//! same HTTPS server as the API and check each role as the API does; rendered with
//! [`caiji_agent::webkit`], shared with the agent's screens.

mod auth;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use caiji_agent::webkit::{self, Frame, Site, WebError};
use maud::html;

pub use auth::Session;

use crate::server::{AppError, AppState};
use crate::store::{HubError, HubStore, OfficeRole};

/// The hub's site settings (`secure` unless serving plain HTTP for development).
pub fn site(secure: bool) -> Site {
    Site { secure, app: "中心端" }
}

/// The hub's own static files (besides the kit's).
const OWN_ASSETS: &[(&str, &str)] =
    &[("hub.js", include_str!("assets/hub.js")), ("site.css", include_str!("assets/site.css"))];

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/", get(home)).route("/static/{name}", get(asset)).merge(auth::routes())
}

async fn asset(Path(name): Path<String>) -> Response {
    webkit::assets::serve(&name, OWN_ASSETS)
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
    let mut nav = vec![("进度看板", "/".to_string())];
    match session.user.role {
        OfficeRole::Admin | OfficeRole::Reviewer | OfficeRole::Approver => {}
        OfficeRole::DeptViewer => {}
    }
    nav.retain(|_| true);
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

async fn home(State(state): State<Arc<AppState>>, session: Session) -> Result<Response, WebError> {
    let st = state.clone();
    with_store(&state, move |s| {
        let f = frame(&st, s, &session, "/", &[]);
        Ok(webkit::page(&f, "进度看板", html! { h1 { "进度看板" } }))
    })
    .await
}

/// Refuses unless the role may act in the workflow (not a read-only department head).
pub fn office_only(session: &Session) -> Result<(), WebError> {
    if session.user.role.workflow().is_none() {
        return Err(WebError::new(StatusCode::FORBIDDEN, "只读用户不能执行此操作"));
    }
    Ok(())
}
