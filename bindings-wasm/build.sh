#!/usr/bin/env bash
# Builds the browser package: the release wasm of pregen-wasm for wasm32-unknown-unknown, sized for the web
# (opt-level z, fat LTO, one codegen unit, panic=abort), then `wasm-bindgen --target web` into pkg/ (JS glue,
# pregen_wasm_bg.wasm and the typed pregen_wasm.d.ts), then `wasm-opt -Oz` when Debian's binaryen is installed.
# Needs the wasm32 target and wasm-bindgen-cli at the version pinned in Cargo.toml (test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")"

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  echo "wasm-bindgen $WASM_BINDGEN_VERSION is required (cargo install --locked wasm-bindgen-cli --version $WASM_BINDGEN_VERSION)" >&2
  exit 1
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"
CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
CARGO_PROFILE_RELEASE_LTO=fat \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
CARGO_PROFILE_RELEASE_PANIC=abort \
CARGO_PROFILE_RELEASE_DEBUG=false \
  cargo build -p pregen-wasm --lib --release --target wasm32-unknown-unknown --target-dir "$TARGET_DIR"

rm -rf pkg
wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir pkg "$TARGET_DIR/wasm32-unknown-unknown/release/pregen_wasm.wasm"

if command -v wasm-opt >/dev/null 2>&1; then
  wasm-opt -Oz --all-features pkg/pregen_wasm_bg.wasm -o pkg/pregen_wasm_bg.opt.wasm
  mv pkg/pregen_wasm_bg.opt.wasm pkg/pregen_wasm_bg.wasm
  echo "wasm-opt: $(wasm-opt --version)"
fi

raw=$(stat -c %s pkg/pregen_wasm_bg.wasm)
gz=$(gzip -9 -c pkg/pregen_wasm_bg.wasm | wc -c)
echo "pkg/pregen_wasm_bg.wasm: $raw bytes, $gz bytes gzip -9"
