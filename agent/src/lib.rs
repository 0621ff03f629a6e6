//! `caiji-agent`: the department agent. Today it shows the catalog of official tables; the
//! local store, import/export, the drop folder and sync follow in later issues.
//!
//! The binary (`main.rs`) is a shim: it parses the command line into [`cli::Cli`] and calls
//! [`cli::run`], which returns the text to print or a typed error.

pub mod cli;
pub mod export;
pub mod import;
pub mod store;
