#!/usr/bin/env bash
# Installs what the end-to-end tests run against, once: Debian packages (as root) and pinned Go
# programs built with `go install` into ~/.cache/registry-e2e/bin (reused between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(docker-registry skopeo nginx-light openssl curl)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "== apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go programs, pinned. The versions live in tests/e2e/peers.json so the harness and this script agree.
BIN=${REGISTRY_E2E_CACHE:-$HOME/.cache/registry-e2e}/bin
mkdir -p "$BIN"
node -e '
const peers = require("./tests/e2e/peers.json");
for (const p of Object.values(peers.go)) console.log(`${p.module}@${p.version} ${p.binary}`);
' | while read -r modver binary; do
  if [ ! -x "$BIN/$binary" ]; then
    echo "== go install $modver"
    tmp=$(mktemp -d)
    CGO_ENABLED=0 GOBIN="$tmp" go install "$modver"
    mv "$tmp/$(basename "${modver%@*}")" "$BIN/$binary"
    rmdir "$tmp"
  fi
done
