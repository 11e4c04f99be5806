#!/usr/bin/env bash
# Make sure a headless Chromium is available (the segment report's rendering
# test opens the report in it). Idempotent and quick when already installed.
# Installs Debian's `chromium` package with apt-get when run as root; otherwise
# prints why it cannot and exits 0, so the test can skip with that reason.
set -euo pipefail

for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then
        exit 0
    fi
done

if [ "$(id -u)" != "0" ]; then
    echo "ensure-chromium: chromium is not installed and this is not root: cannot apt-get install it" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is not installed and apt-get is not available" >&2
    exit 0
fi

echo "ensure-chromium: installing Debian's chromium (headless report test) ..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }; then
    echo "ensure-chromium: apt-get install chromium failed; the report rendering test will skip" >&2
fi
exit 0
