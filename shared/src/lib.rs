//! `caiji-shared`: the pure core of caiji, used by the agent and the hub alike.
//!
//! - [`catalog`]: the official tables, fields, code lists and rules (from `schemas/`);
//! - [`validate`]: checking and normalising what a collector enters, row and cross-table rules;
//! - [`sheet`]: a department's sheet as an Automerge document;
//! - [`sync`]: the wire types of agent ↔ hub sync;
//! - [`period`]: academic years and statistical periods;
//! - [`value`]: the typed value of one cell;
//! - [`workflow`]: the review workflow of a sheet, as a state machine.
//!
//! Architecture invariant: this crate does no IO — no files, no network, no clock, no async
//! runtime, no SQLite. Time and randomness come in as arguments (row ids, commit times), so
//! every behaviour here is a function tests can drive directly. The schema files are embedded
//! at build time (`build.rs`), not read at run time.

pub mod catalog;
pub mod period;
pub mod sheet;
pub mod sync;
pub mod validate;
pub mod value;
pub mod workflow;

pub use catalog::{Catalog, Edition, Field, FieldType, Severity, Table};
pub use period::{AcademicYear, Period};
pub use value::Value;
