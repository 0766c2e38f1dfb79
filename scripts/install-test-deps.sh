#!/usr/bin/env sh
# Install what fleetwright's tests need beyond Rust, when it is missing:
# Debian's `chromium` (the browser test renders the HTML report in it).
# Idempotent and quiet when everything is there.
#
#   scripts/install-test-deps.sh
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: $CHROMIUM is missing and there is no apt-get here;" >&2
    echo "install Chromium with your system's package manager so that $CHROMIUM exists." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    echo "install-test-deps: not root and no sudo: run as root: apt-get install -y chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-test-deps: installing chromium (apt-get install -y chromium)" >&2
# The package lists may be stale or absent (fresh containers): update once
# and try again when the first attempt fails.
if ! $SUDO apt-get install -y -q chromium >/dev/null; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q chromium >/dev/null
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "install-test-deps: chromium was installed but $CHROMIUM is not there" >&2
    exit 1
fi
echo "install-test-deps: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed" >&2
