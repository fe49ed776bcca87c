#!/usr/bin/env bash
# The whole suite: install what the tests need, type-check, lint and format check, unit + schema
# tests, the program under the real Pulumi engine against a real API server, end-to-end tests.
# This is what `npm test` and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
echo "== tsc --noEmit (strict)"
node_modules/.bin/tsc --noEmit -p .
echo "== lint (ESLint, Prettier)"
node_modules/.bin/eslint .
node_modules/.bin/prettier --check .
echo "== unit and schema tests (Pulumi mocks)"
node_modules/.bin/mocha
# What an earlier run left in the default work directory (kept for reading logs) goes first.
[ -n "${REGISTRY_E2E_WORK:-}" ] || rm -rf .e2e
echo "== real engine tests (Pulumi CLI, kube-apiserver, stand-in kubelet and tls/random providers)"
node_modules/.bin/mocha --config tests/engine/.mocharc.json
if [ -f tests/e2e/.mocharc.json ]; then
  echo "== end-to-end tests (real registry, TLS, htpasswd, skopeo)"
  node_modules/.bin/mocha --config tests/e2e/.mocharc.json
fi
# A green run deletes what it wrote (certificates, images, storage, logs: over a GiB); a failed
# run stops above (set -e) and keeps it for reading the logs until the next run starts.
[ -n "${REGISTRY_E2E_WORK:-}" ] || rm -rf .e2e
