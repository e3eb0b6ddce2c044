#!/usr/bin/env bash
# The browser tests of pregen-wasm, from a fresh machine: installs what is missing (the wasm32 target,
# wasm-bindgen-cli at the pinned version, playwright-core from package-lock.json, Debian's chromium), builds the
# package (release) and runs the tests in headless Chromium (node --test). Never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")"

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium chromium-driver
fi
if ! node -e 'require.resolve("playwright-core")' >/dev/null 2>&1 || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

echo "== build the wasm package"
./build.sh
echo "== browser tests (headless Chromium)"
node --test --test-concurrency=1 tests/
