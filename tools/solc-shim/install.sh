#!/usr/bin/env bash
# Installs our solc-js shim as `solc-v0.8.30` where py-solc-x looks ($SOLCX_BINARY_PATH or ~/.solcx),
# so `ape compile`, forge and slither never try to download a compiler. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(node -e "console.log(require('$here/../../node_modules/solc').version().split('+')[0])")
dest=${SOLCX_BINARY_PATH:-$HOME/.solcx}
mkdir -p "$dest"
target="$dest/solc-v$version"
wrapper=$(printf '#!/bin/sh\nexec node "%s/solc.js" "$@"\n' "$here")
if [ ! -f "$target" ] || [ "$(cat "$target")" != "$wrapper" ]; then
  printf '%s' "$wrapper" > "$target"
  chmod +x "$target"
fi
echo "$target"
