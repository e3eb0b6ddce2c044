#!/usr/bin/env bash
# The Node addon's tests, from a fresh machine: installs the npm packages from package-lock.json (npm ci), builds
# the addon with the Postgres backend (napi build --platform --release: the .node file, index.js, index.d.ts) and the `pregen` command
# (whose `simulate` stands in for Claude on loopback), then runs node --test.
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"
if [ ! -d node_modules/@napi-rs/cli ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

echo "== build the addon (release)"
npx napi build --platform --release --strip --features postgres
echo "== build the pregen command (its simulator is the tests' Claude)"
cargo build -p pregen-examples --bin pregen
export PREGEN_BIN="$CARGO_TARGET_DIR/debug/pregen"

echo "== node --test"
PREGEN_LOG="${PREGEN_LOG:-error}" node --test --test-concurrency=1 tests/
