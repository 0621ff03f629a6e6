#!/usr/bin/env bash
# The one command that runs every test of caiji on a fresh machine (README: "Run the tests").
# It installs what the tests need, builds the real binaries the integration tests start, and
# runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests drive Debian's Chromium through ChromeDriver; a Chinese font makes the
# screenshots readable. Installed once, from Debian's packages.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei" || need+=(fonts-wqy-microhei)
# Printed pages are read back as text with Poppler's pdftotext.
command -v pdftotext >/dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

# Screenshots of each main screen land here, outside the repository.
export CAIJI_SCREENSHOTS="${CAIJI_SCREENSHOTS:-${TMPDIR:-/tmp}/caiji-screenshots}"

cargo build --workspace --bins
cargo test --workspace
# The catalog's summary: how many tables and fields are declared, and which are incomplete.
cargo test -q -p caiji-shared embedded_catalog_loads_and_summary -- --nocapture
echo "Screenshots of the web screens: $CAIJI_SCREENSHOTS"
