#!/usr/bin/env bash
# The Next.js example's checks, from a fresh machine: builds the addon (bindings-node, npm ci from its lockfile)
# and the `pregen` command (its simulator is Claude here), installs this app from package-lock.json (npm ci; the
# addon is installed as a copy, see .npmrc), type-checks it against the generated index.d.ts (tsc --noEmit),
# builds it (next build), then runs the HTTP tests (node --test) against `next start` on loopback, with SQLite and
# then with Postgres (PREGEN_TEST_DATABASE_URL, default the local server; required under CI). The browser dashboard
# of examples/browser and the WASM package (bindings-wasm/pkg, rebuilt only when older than its sources) are copied
# into public/ before `next build` (Next.js serves only what public/ held at build time; the copies are not
# committed), and one end-to-end test drives that page in Debian's Chromium (playwright-core, never a downloaded
# browser) against the app.
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

echo "== the browser dashboard and the WASM package into public/"
WASM=../../bindings-wasm
if [ ! -f "$WASM/pkg/pregen_wasm_bg.wasm" ] || [ -n "$(find "$WASM/src" "$WASM/Cargo.toml" ../../core/src ../../Cargo.lock -newer "$WASM/pkg/pregen_wasm_bg.wasm" -print -quit)" ]; then
  WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$WASM/Cargo.toml")
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
    cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  bash "$WASM/build.sh"
fi
rm -rf public/pkg public/dashboard
mkdir -p public/pkg public/dashboard
cp "$WASM/pkg/pregen_wasm.js" "$WASM/pkg/pregen_wasm_bg.wasm" public/pkg/
cp ../browser/index.html ../browser/app.js ../browser/style.css public/dashboard/
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

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
