#!/usr/bin/env bash
# Every check and test of the project: formatting, lints, the wasm32 build of the pure modules, all Rust tests
# (the Postgres backend's against the local server at 127.0.0.1:5432), and the browser tests of the WASM tracker.
# Installs the Rust pieces it needs (rustfmt, clippy, the wasm32 target, cargo-nextest at a pinned version); the
# binding scripts install their own (wasm-bindgen-cli at the pinned version, npm packages from their lockfiles).
# Then the Node addon's tests and the Next.js example's HTTP tests.
set -euo pipefail
cd "$(dirname "$0")/.."

NEXTEST_VERSION=0.9.143

rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if ! cargo nextest --version 2>/dev/null | grep -q "$NEXTEST_VERSION"; then
  cargo install cargo-nextest --version "$NEXTEST_VERSION" --locked
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== pure modules for wasm32-unknown-unknown"
cargo build -p pregen-core --no-default-features --target wasm32-unknown-unknown
echo "== tests"
cargo nextest run --workspace --all-features --no-fail-fast
cargo test --workspace --all-features --doc
echo "== browser tests of the WASM job tracker"
bash bindings-wasm/test.sh
echo "== the Node addon (node --test)"
bash bindings-node/test.sh
echo "== the Next.js example over HTTP (next build, next start)"
bash examples/nextjs/test.sh
