//! caiji's one integration-test binary: the real binaries, run as a user would run them.
//!
//! The binaries must be built first (`cargo build --workspace --bins`, which the README's test
//! command does); [`support::bin`] finds them next to this test executable.

mod support;

// `caiji-agent catalog` and `caiji-hub catalog`: the embedded catalog, as a user sees it.
mod catalog_cli;
