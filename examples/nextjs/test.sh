#!/usr/bin/env bash
# The Next.js example's checks, from a fresh machine: builds the addon (bindings-node, npm ci from its lockfile)
# and the `pregen` command (its simulator is Claude here), installs this app from package-lock.json (npm ci; the
# addon is installed as a copy, see .npmrc), type-checks it against the generated index.d.ts (tsc --noEmit),
# builds it (next build), then runs the HTTP tests (node --test) against `next start` on loopback, with SQLite and
# then with Postgres (PREGEN_TEST_DATABASE_URL, default the local server; required under CI).
set -euo pipefail
cd "$(dirname "$0")"
export NEXT_TELEMETRY_DISABLED=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd ../.. && pwd)/target}"

echo "== build the addon"
(
  cd ../../bindings-node
  if [ ! -d node_modules/@napi-rs/cli ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  npx napi build --platform --release --strip --features postgres
)
echo "== build the pregen command (its simulator is the tests' Claude)"
cargo build -p pregen-examples --bin pregen
export PREGEN_BIN="$CARGO_TARGET_DIR/debug/pregen"

echo "== npm ci (the app, with the addon just built)"
npm ci --no-audit --no-fund
echo "== tsc --noEmit"
npx tsc --noEmit
echo "== next build"
npx next build
echo "== HTTP tests against next start (SQLite)"
PREGEN_LOG="${PREGEN_LOG:-error}" node --test --test-concurrency=1 tests/
PG_URL="${PREGEN_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ -n "${CI:-}" ] || pg_isready -q -d "$PG_URL"; then
  echo "== HTTP tests against next start (Postgres)"
  PREGEN_TEST_DATABASE_URL="$PG_URL" PREGEN_LOG="${PREGEN_LOG:-error}" node --test --test-concurrency=1 tests/
else
  echo "== no Postgres at $PG_URL: the Postgres pass did not run"
fi
