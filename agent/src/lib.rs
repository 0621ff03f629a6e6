//! `caiji-agent`: the department agent. A collector's sheets live in a durable local store
//! ([`store`], on [`docstore`]); Excel and CSV files come in through [`import`] (by command or
//! through the drop folder, [`inbox`]) and go out through [`export`]; [`sync`] and
//! [`hub_client`] keep them in step with the hub; [`cli`], [`cmd`], [`cmd_sync`] and
//! [`cmd_workflow`] are the command line, [`serve`] the background process, [`web`] its
//! screens in the browser (on [`webkit`], which the hub's screens share).
//!
//! The binary (`main.rs`) is a shim: it parses the command line into [`cli::Cli`] and calls
//! [`cli::run`], which returns the text to print or a typed error.

pub mod cli;
pub mod cmd;
pub mod cmd_sync;
pub mod cmd_workflow;
pub mod docstore;
pub mod export;
pub mod hub_client;
pub mod import;
pub mod inbox;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod sync;
pub mod web;
pub mod webkit;
