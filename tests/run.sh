#!/usr/bin/env bash
# Every check and test of the project: formatting, lints, the wasm32 build of the pure modules, and all tests.
# Installs the Rust pieces it needs (rustfmt, clippy, the wasm32 target, cargo-nextest at a pinned version).
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
cargo clippy --workspace --all-targets -- -D warnings
echo "== pure modules for wasm32-unknown-unknown"
cargo build -p pregen-core --no-default-features --target wasm32-unknown-unknown
echo "== tests"
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
