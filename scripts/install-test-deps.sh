#!/usr/bin/env bash
# Installs what the end-to-end tests run against, once: Debian packages (as root) and pinned Go
# programs built with `go install` into ~/.cache/registry-e2e/bin (reused between runs).
#   tests/harness/debs/*.txt     Debian packages, one file per area (one package per line, # comments)
#   tests/harness/peers.json     Go programs, pinned by module and version
#   scripts/install.d/*.sh   extra steps an area needs (sourced after the packages are in)
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t DEBS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/harness/debs/*.txt | tr -d ' \t' | sort -u)
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

# Go programs, pinned. The versions live in tests/harness/peers.json so the harness and this script agree.
BIN=${REGISTRY_E2E_CACHE:-$HOME/.cache/registry-e2e}/bin
mkdir -p "$BIN"
node -e '
const peers = require("./tests/harness/peers.json");
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

for step in scripts/install.d/*.sh; do
  [ -e "$step" ] || continue
  # shellcheck source=/dev/null
  source "$step"
done
