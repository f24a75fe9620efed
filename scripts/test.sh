#!/usr/bin/env bash
# The test command: makes the Python venv with the official SDKs the tests drive (once), then
# runs the whole Rust test suite (unit, integration over real TLS, SDK clients, corpus eval).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "import openai, anthropic, httpx" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
fi
# --tests: the library, the binary and the integration tests (benches and examples are built by
# clippy --all-targets in CI and run on demand).
cargo test --tests "$@"
