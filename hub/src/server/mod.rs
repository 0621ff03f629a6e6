//! The hub's HTTPS server: axum behind rustls, on a listener the caller provides, until the
//! shutdown future completes (mini-redis style `run(config, listener, shutdown)`), so tests
//! start it on port 0.

pub(crate) mod api;
mod error;
mod events;
mod office;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use api::router;
pub use error::AppError;
pub use events::Events;

use crate::store::{HubError, HubStore};

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Config {
    pub data: PathBuf,
    /// Serve plain HTTP (development only; logged as a warning).
    pub insecure_http: bool,
}

/// What every handler shares.
pub struct AppState {
    /// The store; handlers lock it inside `spawn_blocking` (its work is synchronous).
    pub store: Mutex<HubStore>,
    pub events: Events,
    /// How the web screens set cookies (`Secure` unless serving plain HTTP).
    pub site: caiji_agent::webkit::Site,
    /// The last review page's submission, reused while its sheet and records are unchanged.
    pub(crate) reviewed: Mutex<Option<crate::web::review::Reviewed>>,
    /// The merged tables' findings and the last school-wide table shown, reused while the
    /// hub's data is unchanged.
    pub(crate) merged: Mutex<crate::web::merged::MergedCache>,
}

impl AppState {
    /// The state for serving `store` (cookies `Secure` when `secure`).
    pub fn new(store: HubStore, secure: bool) -> Result<AppState, HubError> {
        let plan_version = store.plan_version()?;
        Ok(AppState {
            store: Mutex::new(store),
            events: Events::new(plan_version),
            site: crate::web::site(secure),
            reviewed: Mutex::new(None),
            merged: Mutex::new(crate::web::merged::MergedCache::default()),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] HubError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// Serves the hub on `listener` until `shutdown` completes.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    let store = HubStore::open(&config.data)?;
    let acceptor = if config.insecure_http {
        tracing::warn!("以不加密的 HTTP 提供服务：仅供开发调试，切勿用于真实数据");
        None
    } else {
        Some(TlsAcceptor::from(crate::tls::server_config(&config.data)?))
    };
    let state = Arc::new(AppState::new(store, !config.insecure_http)?);
    let app = router(state.clone());
    let watcher = tokio::spawn(events::watch_plan(state.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "接受连接失败");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let app = app.clone();
                let acceptor = acceptor.clone();
                let stop = stop_rx.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => serve_connection(TokioIo::new(tls), app, stop).await,
                            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS 握手失败"),
                            Err(_) => tracing::debug!(%peer, "TLS 握手超时"),
                        },
                        None => serve_connection(TokioIo::new(tcp), app, stop).await,
                    }
                });
            }
        }
    }
    let _ = stop_tx.send(true);
    watcher.abort();
    Ok(())
}

async fn serve_connection<I>(io: I, app: axum::Router, mut stop: tokio::sync::watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "连接中断");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}
