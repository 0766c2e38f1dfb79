#!/usr/bin/env sh
# Validate every manifest under deploy/kubernetes/ against Kubernetes' own
# OpenAPI schemas, strictly (an unknown field is an error), with
# kubernetes-validate (PyPI), installed at a pinned version into the
# git-ignored .cache/kubernetes-validate venv when it is missing. Debian's
# python3-venv is installed with apt-get (as root or through sudo) when
# `python3 -m venv` cannot make a venv. A document kubernetes-validate has
# no schema for (a misspelt apiVersion or kind) fails too: the tool only
# warns about it.
#
#   scripts/validate-kubernetes.sh                  # every deploy/kubernetes/*.yaml
#   scripts/validate-kubernetes.sh path/to/x.yaml   # these files only
set -eu
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
# The oldest Kubernetes the manifests are written for (user-namespaced pods
# and ProcMountType are on by default from 1.33: see
# deploy/kubernetes/workers-job.yaml) and the newest this kubernetes-validate
# knows: a field one of them lacks or refuses fails.
KUBERNETES_VERSIONS="1.33.0 1.37.0"
VENV=.cache/kubernetes-validate
TOOL="$VENV/bin/kubernetes-validate"

installed_version() {
    "$TOOL" --version 2>/dev/null || true
}

# Debian's python3 makes no venv without python3-venv (ensurepip).
install_python_venv() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "validate-kubernetes: \`python3 -m venv\` fails and there is no apt-get here;" >&2
        echo "validate-kubernetes: install Python's venv module (Debian: python3-venv) with your system's package manager." >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "validate-kubernetes: not root and no sudo: run as root: apt-get install -y python3-venv" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "validate-kubernetes: installing python3-venv (apt-get install -y python3-venv)" >&2
    # The package lists may be stale or absent (fresh containers): update
    # once and try again when the first attempt fails.
    if ! $SUDO apt-get install -y -q python3-venv >/dev/null; then
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q python3-venv >/dev/null
    fi
}

if [ "$(installed_version)" != "$KUBERNETES_VALIDATE_VERSION" ]; then
    command -v python3 >/dev/null 2>&1 || {
        echo "validate-kubernetes: python3 is missing (Debian: apt-get install python3 python3-venv)" >&2
        exit 1
    }
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        install_python_venv
        python3 -m venv "$VENV"
    fi
    echo "validate-kubernetes: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    if [ "$(installed_version)" != "$KUBERNETES_VALIDATE_VERSION" ]; then
        echo "validate-kubernetes: kubernetes-validate $KUBERNETES_VALIDATE_VERSION did not install into $VENV" >&2
        exit 1
    fi
fi

if [ "$#" -eq 0 ]; then
    set -- deploy/kubernetes/*.yaml
fi
for file in "$@"; do
    if [ ! -f "$file" ]; then
        echo "validate-kubernetes: no such manifest: $file" >&2
        exit 1
    fi
done

failed=0
for version in $KUBERNETES_VERSIONS; do
    # kubernetes-validate exits 0 on a document it has no schema for, with
    # a WARN line: read its output, not only its status.
    status=0
    out=$("$TOOL" --strict --quiet --kubernetes-version "$version" "$@" 2>&1) || status=$?
    if [ -n "$out" ]; then
        printf '%s\n' "$out" >&2
    fi
    if [ "$status" -ne 0 ] || printf '%s\n' "$out" | grep -Eq '^(WARN|ERROR|FATAL)'; then
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "validate-kubernetes: FAILED: the manifests above do not validate (kubernetes-validate $KUBERNETES_VALIDATE_VERSION --strict, Kubernetes $KUBERNETES_VERSIONS)" >&2
    exit 1
fi
echo "validate-kubernetes: $# manifest file(s) valid against Kubernetes $KUBERNETES_VERSIONS (kubernetes-validate $KUBERNETES_VALIDATE_VERSION --strict)"
