#!/usr/bin/env sh
# Install what fleetwright's tests need beyond Rust, when it is missing:
# Debian's `chromium` (the browser test renders the HTML report in it),
# Node.js with npm (the GitHub contract test installs prism with npm into
# the git-ignored .cache/npm), bubblewrap (`bwrap`: verify commands and
# recipe `run:` steps run in its sandbox, and the sandbox tests use it),
# openssh-server (`/usr/sbin/sshd`: the SSH remote tests start their own
# sshd on loopback; as root it needs its /run/sshd folder, made here),
# PostgreSQL's server (`postgresql`: the state tests make a throw-away
# cluster in a temp folder with its `initdb` and start its `postgres` on
# loopback, as the `postgres` user the package creates when run by root)
# and groff (the manual page test).
# Idempotent and quiet when everything is there.
#
#   scripts/install-test-deps.sh
set -eu

CHROMIUM=/usr/bin/chromium
SSHD=/usr/sbin/sshd

# PostgreSQL's initdb: Debian's highest version, else the one on PATH.
pg_initdb() {
    # shellcheck disable=SC2012
    ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 | grep . ||
        command -v initdb
}

# sshd started by root (the tests start it as the current user) wants its
# privilege separation folder, which a container without systemd lacks.
make_sshd_dir() {
    if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
        mkdir -p -m 0755 /run/sshd
    fi
}

# bubblewrap is only useful when it can create user namespaces: say how
# to allow them when it cannot (the tests fail with the same hint).
check_bwrap() {
    if ! out=$(bwrap --unshare-user --unshare-pid --unshare-net --ro-bind / / true 2>&1); then
        echo "install-test-deps: bwrap is installed but cannot create namespaces: $out" >&2
        echo "install-test-deps: allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1;" >&2
        echo "install-test-deps: on Ubuntu 24.04 sysctl kernel.apparmor_restrict_unprivileged_userns=0)" >&2
        exit 1
    fi
}

packages=""
[ -x "$CHROMIUM" ] || packages=" chromium"
command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"
command -v bwrap >/dev/null 2>&1 || packages="$packages bubblewrap"
# groff renders the manual page `fleetwright man` writes (the cli test).
command -v groff >/dev/null 2>&1 || packages="$packages groff-base"
[ -x "$SSHD" ] || packages="$packages openssh-server"
pg_initdb >/dev/null 2>&1 || packages="$packages postgresql"
if [ -z "$packages" ]; then
    check_bwrap
    make_sshd_dir
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: missing$packages and there is no apt-get here;" >&2
    echo "install them with your system's package manager ($CHROMIUM must exist)." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    echo "install-test-deps: not root and no sudo: run as root: apt-get install -y$packages" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-test-deps: installing$packages (apt-get install -y$packages)" >&2
# The package lists may be stale or absent (fresh containers): update once
# and try again when the first attempt fails.
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q $packages >/dev/null; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q $packages >/dev/null
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "install-test-deps: chromium was installed but $CHROMIUM is not there" >&2
    exit 1
fi
if [ ! -x "$SSHD" ]; then
    echo "install-test-deps: openssh-server was installed but $SSHD is not there" >&2
    exit 1
fi
if ! pg_initdb >/dev/null 2>&1; then
    echo "install-test-deps: postgresql was installed but there is no /usr/lib/postgresql/*/bin/initdb" >&2
    exit 1
fi
# On a machine run by systemd, Debian's package starts a system sshd on
# port 22: the tests start their own, so put back the machine as it was
# (no SSH server listening) when this script installed it.
case "$packages" in
*openssh-server*)
    if [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
        echo "install-test-deps: openssh-server installed for the tests; its system service is disabled" >&2
    fi
    ;;
esac
# Likewise Debian's postgresql makes and starts a system cluster (port
# 5432): harmless, but the tests make their own, so the service goes too.
case "$packages" in
*postgresql*)
    if [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now postgresql.service >/dev/null 2>&1 || true
        echo "install-test-deps: postgresql installed for the tests; its system service is disabled" >&2
    fi
    ;;
esac
check_bwrap
make_sshd_dir
echo "install-test-deps: $("$CHROMIUM" --version 2>/dev/null || echo chromium), $(bwrap --version), $("$SSHD" -V 2>&1 | head -n 1), $("$(pg_initdb)" --version) installed" >&2
