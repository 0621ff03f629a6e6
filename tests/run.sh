#!/usr/bin/env bash
# The one command that runs every test of caiji on a fresh machine (README: "Run the tests").
# It installs what the tests need, builds the real binaries the integration tests start, and
# runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Nothing outside the Rust toolchain is needed yet; browser tests will add chromium here.

cargo build --workspace --bins
cargo test --workspace
# The catalog's summary: how many tables and fields are declared, and which are incomplete.
cargo test -q -p caiji-shared embedded_catalog_loads_and_summary -- --nocapture
