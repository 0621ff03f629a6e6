//! `caiji-hub`: the college's hub. It keeps every department's sheets and workflow log
//! ([`store`]), serves sync and the office's API over HTTPS ([`server`], [`tls`], [`sync`]),
//! runs the review ([`review`]), the year's steps ([`year`]) and the export for the province
//! ([`report`]), and is driven by the command line ([`cli`]) and the office's web screens
//! ([`web`]); [`demo`] starts a hub with three
//! agents and sample data on loopback.

pub mod cli;
pub mod demo;
pub mod report;
pub mod review;
pub use caiji_agent::secrets;
pub mod server;
pub mod store;
pub mod sync;
pub mod tls;
pub mod web;
pub mod year;

use caiji_shared::Catalog;
use caiji_shared::catalog::{SchemaErrors, render};

/// The text of `caiji-hub catalog`: the tables an academic year's plan is made from.
pub fn catalog_text() -> Result<String, SchemaErrors> {
    let catalog = Catalog::load_embedded()?;
    Ok(render::table_list(catalog.current()))
}

/// Logs to stderr (`CAIJI_LOG` sets the filter, default `info`).
pub fn init_logging() {
    caiji_agent::serve::init_logging();
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
