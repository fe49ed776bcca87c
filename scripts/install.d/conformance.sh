# The OCI distribution-spec conformance suite (tests/e2e/conformance.spec.ts), built once from the
# Go module proxy at the version pinned in tests/harness/peers.json (`conformance`) and cached in
# ~/.cache/registry-e2e/bin under a name that carries the version, so a new pin builds anew.
# The module is the suite's main package: built with `go build` in a copy of it (its own go.mod
# and go.sum), as its README says; its `go test` entry point is deprecated and marks the results
# "legacy". -X main.Version stamps the pinned version into results.yaml, which the test checks.
conformance_pin() { node -e 'console.log(require("./tests/harness/peers.json").conformance[process.argv[1]])' "$1"; }
conformance_bin="${REGISTRY_E2E_CACHE:-$HOME/.cache/registry-e2e}/bin/$(conformance_pin binary)"
if [ ! -x "$conformance_bin" ]; then
  conformance_module=$(conformance_pin module)
  conformance_version=$(conformance_pin version)
  echo "== build the OCI conformance suite $conformance_module@$conformance_version"
  conformance_start=$SECONDS
  conformance_tmp=$(mktemp -d)
  conformance_src=$(cd "$conformance_tmp" && go mod download -json "$conformance_module@$conformance_version" \
    | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).Dir))')
  cp -r "$conformance_src" "$conformance_tmp/src"
  chmod -R u+w "$conformance_tmp/src"
  (cd "$conformance_tmp/src" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.Version=$conformance_version" -o "$conformance_tmp/conformance" . 2>&1 | grep -v '^go: downloading' >&2 || true)
  [ -x "$conformance_tmp/conformance" ] || { echo "conformance.sh: building $conformance_module@$conformance_version failed" >&2; rm -rf "$conformance_tmp"; return 1; }
  mv "$conformance_tmp/conformance" "$conformance_bin"
  rm -rf "$conformance_tmp"
  echo "== built the OCI conformance suite in $((SECONDS - conformance_start)) s"
fi
unset -f conformance_pin
unset conformance_bin conformance_module conformance_version conformance_start conformance_tmp conformance_src
