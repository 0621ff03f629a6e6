//! `caiji-agent serve`: the agent running in the background. Today it watches the drop folder;
//! background sync with the hub and the local web screens join it in later issues.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::CliError;
use crate::store::Store;

/// Runs until interrupted (Ctrl-C or SIGTERM), then returns a closing line.
pub fn run(data: &Path) -> Result<String, CliError> {
    init_logging();
    let mut store = Store::open(data)?;
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("无法启动后台服务：{e}")))?;
    let flag = stop.clone();
    // Signals are awaited on their own thread; the inbox loop runs on this one.
    let signals = std::thread::spawn(move || {
        runtime.block_on(async {
            wait_for_shutdown().await;
            flag.store(true, Ordering::Relaxed);
        })
    });
    let info = store.info().clone();
    tracing::info!(department = %info.department_name, year = %info.year, "caiji-agent 已启动");
    crate::inbox::run(&mut store, &stop, |_| {});
    let _ = signals.join();
    Ok("caiji-agent 已停止\n".into())
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

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIJI_LOG").unwrap_or_else(|_| "info".into());
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
