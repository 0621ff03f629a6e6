//! `caiji-agent serve`: the agent in the background. It imports files dropped into the inbox
//! and syncs with the hub on its own: soon after every local change, on a timer, and at once
//! when the hub signals news (long-poll); when the hub cannot be reached it backs off
//! exponentially with jitter, without a busy loop or a flood of messages.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::cli::CliError;
use crate::hub_client::HubClientError;
use crate::store::Store;
use crate::sync::{SyncError, client_for, sync_once};

/// A sync this long after the last local change (changes in a burst go together).
const DEBOUNCE: Duration = Duration::from_millis(30);
/// Sync at least this often even without news.
const PERIOD: Duration = Duration::from_secs(60);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Runs until interrupted (Ctrl-C or SIGTERM), then returns a closing line. With `web`, the
/// screens are served there (a loopback address).
pub fn run(data: &Path, web: Option<SocketAddr>) -> Result<String, CliError> {
    init_logging();
    let store = Store::open(data)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("无法启动后台服务：{e}")))?;
    let running = Running::start(store, runtime.handle(), web)?;
    if let Some(addr) = running.web_addr {
        tracing::info!("采集端网页：http://{addr}/");
    }
    runtime.block_on(wait_for_shutdown());
    runtime.block_on(running.stop());
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok("caiji-agent 已停止\n".into())
}

/// An agent working in the background: the drop folder on its own thread, sync as a task.
pub struct Running {
    pub store: Arc<Mutex<Store>>,
    /// Where the web screens are served, if they are.
    pub web_addr: Option<SocketAddr>,
    web_task: Option<tokio::task::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    stop_tx: watch::Sender<bool>,
    sync_task: Option<tokio::task::JoinHandle<()>>,
    inbox: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts the drop folder, the web screens on `web` (if given) and, if the agent is
    /// enrolled, background sync, on `runtime`.
    pub fn start(store: Store, runtime: &tokio::runtime::Handle, web: Option<SocketAddr>) -> Result<Running, CliError> {
        let info = store.info().clone();
        let enrolled = store.hub()?.is_some();
        let store = Arc::new(Mutex::new(store));
        let changes = Arc::new(Changes::default());
        {
            let changes = changes.clone();
            store.lock().unwrap_or_else(|p| p.into_inner()).on_change(move |ids| changes.add(ids));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_rx_web = stop_rx.clone();
        tracing::info!(department = %info.department_name, year = %info.year, "caiji-agent 已启动");
        let sync_task = if enrolled {
            // Marked running before the web can ask it to sync now.
            changes.running.store(true, Ordering::Relaxed);
            Some(runtime.spawn(sync_loop(store.clone(), changes.clone(), stop_rx)))
        } else {
            tracing::info!("本采集端尚未注册到中心端，只在本机工作；运行 `caiji-agent enroll` 注册后自动同步");
            None
        };
        let inbox = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || crate::inbox::run(&store, &stop, |_| {}))
        };
        let (web_task, web_addr) = match web {
            Some(addr) => {
                let (task, bound) = runtime
                    .block_on(crate::web::serve(store.clone(), addr, stop_rx_web, enrolled.then(|| changes.clone())))
                    .map_err(|e| {
                        let why = if e.kind() == std::io::ErrorKind::AddrInUse {
                            "该端口已被占用（可能已有一个采集端在运行）".to_string()
                        } else {
                            e.to_string()
                        };
                        CliError::Usage(format!(
                            "无法在 {addr} 提供采集端网页：{why}；可用 --web 127.0.0.1:其他端口 指定，或用 --no-web 不提供网页"
                        ))
                    })?;
                (Some(task), Some(bound))
            }
            None => (None, None),
        };
        Ok(Running { store, web_addr, web_task, stop, stop_tx, sync_task, inbox: Some(inbox) })
    }

    /// Stops both, waiting for work in progress to finish.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.stop_tx.send(true);
        if let Some(t) = self.sync_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        if let Some(t) = self.web_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        if let Some(i) = self.inbox.take() {
            let _ = tokio::task::spawn_blocking(move || i.join()).await;
        }
    }
}

/// Sheets changed locally and not yet pushed, and a signal when there are some; and the
/// handle by which the web's "sync now" wakes the sync loop.
#[derive(Default)]
pub struct Changes {
    pending: Mutex<std::collections::BTreeSet<caiji_shared::sheet::SheetId>>,
    notify: Notify,
    /// Someone asked for a full sync at once.
    now: Notify,
    /// Whether the sync loop is running (it stops for good when the hub revokes the agent).
    pub(crate) running: AtomicBool,
}

impl Changes {
    /// Asks the sync loop for a full sync at once (even while it waits to retry after a
    /// failure). False when no sync loop is running, so nothing will happen.
    pub fn sync_now(&self) -> bool {
        self.now.notify_one();
        self.running.load(Ordering::Relaxed)
    }

    /// Waits until someone asks for a sync now (the sync loop waits on this).
    pub async fn sync_requested(&self) {
        self.now.notified().await;
    }

    pub fn add(&self, ids: &[caiji_shared::sheet::SheetId]) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).extend(ids.iter().cloned());
        self.notify.notify_one();
    }

    fn take(&self) -> Vec<caiji_shared::sheet::SheetId> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner())).into_iter().collect()
    }
}

/// A delay in [d/2, d): exponential backoff with jitter, so many agents do not retry together.
fn jittered(d: Duration) -> Duration {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    let frac = 0.5 + 0.5 * (u32::from_le_bytes(b) as f64 / u32::MAX as f64);
    d.mul_f64(frac)
}

/// The background sync loop.
pub async fn sync_loop(store: Arc<Mutex<Store>>, changes: Arc<Changes>, stop: watch::Receiver<bool>) {
    changes.running.store(true, Ordering::Relaxed);
    run_sync_loop(store, &changes, stop).await;
    changes.running.store(false, Ordering::Relaxed);
}

async fn run_sync_loop(store: Arc<Mutex<Store>>, changes: &Changes, mut stop: watch::Receiver<bool>) {
    let client = match client_for(&store.lock().unwrap_or_else(|p| p.into_inner())) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "无法开始同步");
            return;
        }
    };
    let news = Arc::new(Notify::new());
    let poller = tokio::spawn(long_poll(client.clone(), news.clone()));
    let mut period = tokio::time::interval(PERIOD);
    period.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut backoff = BACKOFF_MIN;
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut last_error: Option<String> = None;
    loop {
        let waiting = retry_at;
        // A local change is pushed alone (no summary round); anything else syncs in full.
        let mut push_only = false;
        tokio::select! {
            _ = stop.changed() => break,
            _ = period.tick(), if waiting.is_none() => {}
            _ = changes.notify.notified(), if waiting.is_none() => {
                tokio::time::sleep(DEBOUNCE).await;
                push_only = true;
            }
            _ = news.notified(), if waiting.is_none() => {}
            // Asked from the web: at once, even while waiting to retry.
            _ = changes.sync_requested() => {}
            _ = tokio::time::sleep_until(waiting.unwrap_or_else(tokio::time::Instant::now)), if waiting.is_some() => {}
        }
        let pending = changes.take();
        let result = if push_only && !pending.is_empty() {
            crate::sync::push(&store, &client, &pending).await
        } else {
            sync_once(&store, &client).await
        };
        if result.is_err() && !pending.is_empty() {
            // Not pushed: keep them for the next attempt (a full sync covers them anyway).
            changes.pending.lock().unwrap_or_else(|p| p.into_inner()).extend(pending);
        }
        match result {
            Ok(report) => {
                if last_error.take().is_some() {
                    tracing::info!("已恢复与中心端的同步");
                }
                if report.sheets > 0 || report.plan_updated {
                    tracing::info!(
                        sheets = report.sheets,
                        rounds = report.rounds,
                        plan = report.plan_updated,
                        "同步完成"
                    );
                }
                for (sheet, why) in &report.refused {
                    tracing::warn!(%sheet, reason = %why, "中心端拒绝了这张表");
                }
                backoff = BACKOFF_MIN;
                retry_at = None;
            }
            Err(e) => {
                let text = e.to_string();
                // Log a problem once, not on every retry.
                if last_error.as_deref() != Some(text.as_str()) {
                    tracing::warn!(error = %text, "同步失败");
                    last_error = Some(text);
                }
                let permanent = matches!(
                    &e,
                    SyncError::Hub(
                        HubClientError::Revoked(_)
                            | HubClientError::Fingerprint { .. }
                            | HubClientError::Unauthorized(_)
                    )
                );
                if permanent {
                    tracing::error!("已停止与中心端同步，本地数据不受影响；请联系平台管理办公室");
                    break;
                }
                retry_at = Some(tokio::time::Instant::now() + jittered(backoff));
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    poller.abort();
}

/// Waits on the hub's event stream and signals `news` when something changed there.
async fn long_poll(client: crate::hub_client::HubClient, news: Arc<Notify>) {
    let mut since = 0;
    let mut pause = BACKOFF_MIN;
    loop {
        match client.events(since, 25).await {
            Ok(v) => {
                pause = BACKOFF_MIN;
                if v != since {
                    since = v;
                    news.notify_one();
                }
            }
            Err(_) => {
                tokio::time::sleep(jittered(pause)).await;
                pause = (pause * 2).min(BACKOFF_MAX);
            }
        }
    }
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIJI_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
