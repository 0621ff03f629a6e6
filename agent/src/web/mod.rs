//! The agent's web screens, served by `caiji-agent serve` on 127.0.0.1 only: sign-in, the
//! department's tables, the data grid, import and export, history, the department's review
//! and the sync status. Pages are rendered here with [`crate::webkit`]; the grid's script is
//! `assets/grid.js`.
//!
//! People sign in with the agent's own users (`caiji-agent user-add`); sessions live in memory
//! (restarting the agent signs everyone out) and are keyed by the SHA-256 of their token.

mod auth;
mod cells;
mod grid;
mod import;
mod review;
mod sync;
mod tables;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use crate::serve::Changes;
use crate::store::Store;
use crate::webkit::{self, Frame, Site, WebError};

pub use auth::Session;

/// The agent's site settings: always `Secure` cookies (loopback is a secure context).
pub const SITE: Site = Site { secure: true, app: "采集端", cookie: "caiji-agent" };

/// Sessions end after this long without a request.
const IDLE: Duration = Duration::from_secs(8 * 3600);

/// What every handler shares.
pub struct WebState {
    pub store: Arc<Mutex<Store>>,
    sessions: Mutex<HashMap<String, (Session, Instant)>>,
    /// The background sync loop, to wake for 同步状态's "sync now" (none when it is not running).
    sync: Option<Arc<Changes>>,
    /// The last grid's rows and findings, reused while its sheet is unchanged.
    grid: Mutex<Option<grid::Checked>>,
}

/// The agent's own static files (besides the kit's).
const OWN_ASSETS: &[(&str, &str)] =
    &[("grid.js", include_str!("assets/grid.js")), ("site.css", include_str!("assets/site.css"))];

/// The screens on `store`, without a background sync loop to wake ("sync now" says so).
pub fn router(store: Arc<Mutex<Store>>) -> Router {
    router_with_sync(store, None)
}

/// The screens on `store`; `sync` is the running sync loop's handle, which "sync now" wakes.
pub fn router_with_sync(store: Arc<Mutex<Store>>, sync: Option<Arc<Changes>>) -> Router {
    let state = Arc::new(WebState { store, sessions: Mutex::new(HashMap::new()), sync, grid: Mutex::new(None) });
    Router::new()
        .route("/", get(tables::home))
        .route("/static/{name}", get(asset))
        .merge(auth::routes())
        .merge(grid::routes())
        .merge(import::routes())
        .merge(review::routes())
        .merge(sync::routes())
        .layer(axum::middleware::from_fn_with_state(SITE, webkit::guard))
        .with_state(state)
}

/// Serves the web screens on `addr` (which must be a loopback address) until `stop` fires;
/// `sync` is the background sync loop's handle, if it runs.
pub async fn serve(
    store: Arc<Mutex<Store>>,
    addr: SocketAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
    sync: Option<Arc<Changes>>,
) -> Result<(tokio::task::JoinHandle<()>, SocketAddr), std::io::Error> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("采集端网页只在本机地址上提供（如 127.0.0.1），不能监听 {addr}"),
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router_with_sync(store, sync);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::warn!(error = %e, "采集端网页服务出错");
        }
    });
    Ok((task, bound))
}

async fn asset(Path(name): Path<String>) -> Response {
    webkit::assets::serve(&name, OWN_ASSETS)
}

/// Runs `f` on the store off the async threads.
pub async fn with_store<T: Send + 'static>(
    state: &Arc<WebState>,
    f: impl FnOnce(&mut Store) -> Result<T, WebError> + Send + 'static,
) -> Result<T, WebError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    })
    .await
    .map_err(|_| WebError::internal("内部错误：处理请求的线程意外结束"))?
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        WebError::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

impl From<crate::cli::CliError> for WebError {
    fn from(e: crate::cli::CliError) -> Self {
        WebError::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

/// The frame for a signed-in page.
pub fn frame<'a>(store: &Store, session: &Session, active: &'a str, flash: Option<webkit::Flash>) -> Frame<'a> {
    let info = store.info();
    Frame {
        site: SITE,
        place: format!("{} · {}", info.department_name, info.year),
        user: Some(format!("{}（{}）", session.user, session.role.label())),
        csrf: Some(session.csrf.clone()),
        nav: vec![("我的报表", "/".into()), ("导入", "/import".into()), ("同步状态", "/sync".into())],
        active,
        flash,
        scripts: &[],
    }
}
