//! caiji's one integration-test binary: the real binaries, run as a user would run them.
//!
//! The binaries must be built first (`cargo build --workspace --bins`, which the README's test
//! command does); [`support::bin`] finds them next to this test executable.

mod net;
mod support;

// `caiji-agent catalog` and `caiji-hub catalog`: the embedded catalog, as a user sees it.
mod catalog_cli;
// A collector's work on the command line: import, errors, fixes, export, re-import.
mod agent_cli;
// `caiji-agent serve` and its drop folder.
mod inbox;
// Pulling the power: SIGKILL during imports loses nothing committed and leaves nothing half-done.
mod kill;
// The hub and sync over real TLS: convergence, broken connections, refusals, the plan.
mod sync;
// The review loop: submit, return with comments, fix, resubmit with a diff, accept.
mod workflow;
// A whole academic year with three departments, end to end.
mod year;
// Real headless Chromium over WebDriver: the harness, then the agent's and the hub's screens.
mod browser;
mod web_agent;
mod web_hub;
// `caiji-hub demo`: what it prints works in the browser.
mod web_demo;
