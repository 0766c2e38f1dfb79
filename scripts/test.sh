#!/usr/bin/env bash
# The README's test command, and what CI runs after its lint steps: install
# what the tests need when it is missing (Chromium for the browser test,
# Node.js and npm for the GitHub contract test, bubblewrap, openssh-server
# for the SSH tests, PostgreSQL for the state tests), then run the whole
# suite. The tests start the servers they use themselves (the GitHub
# simulator, a git smart-HTTP server, sshd, PostgreSQL in a throw-away
# cluster, prism), on loopback ports.
#
#   scripts/test.sh            # everything
#   scripts/test.sh rollout    # arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test "$@"
