# The real Pulumi engine and a real Kubernetes control plane (tests/engine/), built once from the
# Go module proxy and cached in ~/.cache/registry-e2e/bin. Pins: tests/engine/tools.json.
# Each tool is built in a wrapper module in a temporary directory, because none of them can be
# `go install`ed by module path (replace directives in their own go.mod). See
# docs/testing.md for what each build needs and how long it takes.
engine_cache="${REGISTRY_E2E_CACHE:-$HOME/.cache/registry-e2e}"
engine_bin="$engine_cache/bin"
mkdir -p "$engine_bin"
engine_tools="$PWD/tests/engine/tools.json"
engine_pin() { node -e 'const t = require(process.argv[2]); console.log(eval("t." + process.argv[1]))' "$1" "$engine_tools"; }

# `go mod tidy` names every module it downloads; only its errors are worth reading.
engine_tidy() { go mod tidy 2>tidy.log || { grep -v '^go: downloading' tidy.log >&2; return 1; }; rm -f tidy.log; }

# Builds with timestamps, so the cold build time of each tool shows in CI's log.
engine_build() { # name, then the build function
  local name=$1 start=$SECONDS
  echo "== build $name (cold builds take minutes; cached in $engine_bin)"
  "$2"
  echo "== built $name in $((SECONDS - start)) s"
}

engine_pulumi() {
  local version dir
  version=$(engine_pin pulumi.version)
  dir=$(mktemp -d)
  cat >"$dir/go.mod" <<EOF
module registry.test/pulumi-cli

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 $version
	github.com/pulumi/pulumi/sdk/v3 $version
)
EOF
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
  (cd "$dir" && engine_tidy && CGO_ENABLED=0 go build -trimpath -o "$engine_bin/$(engine_pin pulumi.binary)" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) || { rm -rf "$dir"; return 1; }
  rm -rf "$dir"
}

# The kubernetes provider: the proxy serves provider/v4 only as one pseudo-version (a January 2026
# commit, older than the 4.34.2 that @pulumi/kubernetes asks for). Built from a writable copy of
# that module, with what its release build does or needs:
#  - go.mod: its sdk/v4 `replace ../sdk` (its repository) pointed at a published sdk, and pulumi
#    pkg/sdk raised to the CLI's version (the ones it asks for do not compile together);
#  - pkg/gen/schema.go: the one line that does not compile against pkg v3.276.0
#    (`pschema.ResourceSpec{` -> `&pschema.ResourceSpec{`);
#  - the embedded schema-embed.json and terraform-mapping-embed.json, made by the module's own
#    generator (cmd/pulumi-resource-kubernetes/generate.go) with the version it registers as.
# `-mod=mod` resolves only what the provider's packages import: the module's codegen tool
# (cmd/pulumi-gen-kubernetes) imports packages pkg v3.276.0 no longer has, so `go mod tidy` fails.
engine_kubernetes_provider() {
  local module version sdk pulumi register dir src
  module=$(engine_pin kubernetesProvider.module)
  version=$(engine_pin kubernetesProvider.version)
  sdk=$(engine_pin kubernetesProvider.sdkVersion)
  pulumi=$(engine_pin pulumi.version)
  register=$(engine_pin kubernetesProvider.registerAs)
  dir=$(mktemp -d)
  src=$(cd "$dir" && go mod download -json "$module@$version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
  cp -r "$src" "$dir/provider"
  chmod -R u+w "$dir/provider"
  sed -i 's/Provider: pschema.ResourceSpec{/Provider: \&pschema.ResourceSpec{/' "$dir/provider/pkg/gen/schema.go"
  grep -q 'Provider: &pschema.ResourceSpec{' "$dir/provider/pkg/gen/schema.go" || { echo "engine.sh: the provider's schema.go fix did not apply" >&2; rm -rf "$dir"; return 1; }
  (cd "$dir/provider" && go mod edit -replace "github.com/pulumi/pulumi-kubernetes/sdk/v4=github.com/pulumi/pulumi-kubernetes/sdk/v4@$sdk" \
    -require "github.com/pulumi/pulumi/pkg/v3@$pulumi" -require "github.com/pulumi/pulumi/sdk/v3@$pulumi" \
    && (cd cmd/pulumi-resource-kubernetes && VERSION=$register go run -mod=mod generate.go 2>&1 | grep -v '^go: downloading' >&2; [ -s schema-embed.json ]) \
    && CGO_ENABLED=0 go build -mod=mod -trimpath -o "$engine_bin/$(engine_pin kubernetesProvider.binary)" \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$register" \
      ./cmd/pulumi-resource-kubernetes 2>&1 | grep -v '^go: downloading' >&2; [ -x "$engine_bin/$(engine_pin kubernetesProvider.binary)" ]) || { rm -rf "$dir"; return 1; }
  rm -rf "$dir"
}

# kube-apiserver, kube-controller-manager, kube-scheduler: k8s.io/kubernetes replaces its staging
# modules with ./staging/...; the wrapper replaces each with its published v0.<minor>.<patch>.
engine_kubernetes() {
  local version staging dir gomod replaces=() b
  version=$(engine_pin kubernetes.version)
  staging="v0.${version#v1.}"
  dir=$(mktemp -d)
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')
  mapfile -t replaces < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
  [ ${#replaces[@]} -gt 20 ] || { echo "engine.sh: found only ${#replaces[@]} staging modules in $gomod" >&2; return 1; }
  {
    printf 'module registry.test/kubernetes\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\n' "$version"
    for m in "${replaces[@]}"; do printf 'replace %s => %s %s\n' "$m" "$m" "$staging"; done
  } >"$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in $(engine_pin 'kubernetes.binaries.join(" ")'); do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    printf ')\n'
  } >"$dir/tools.go"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1"
  ld="$ld -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)"
  (cd "$dir" && engine_tidy && for b in $(engine_pin 'kubernetes.binaries.join(" ")'); do
    CGO_ENABLED=0 go build -trimpath -o "$engine_bin/$b-$version" -ldflags "$ld" "k8s.io/kubernetes/cmd/$b" || exit 1
  done) || { rm -rf "$dir"; return 1; }
  rm -rf "$dir"
}

[ -x "$engine_bin/$(engine_pin pulumi.binary)" ] || engine_build "pulumi CLI $(engine_pin pulumi.version)" engine_pulumi
[ -x "$engine_bin/$(engine_pin kubernetesProvider.binary)" ] || engine_build "pulumi-resource-kubernetes $(engine_pin kubernetesProvider.version)" engine_kubernetes_provider
engine_k8s_missing=0
for engine_b in $(engine_pin 'kubernetes.binaries.join(" ")'); do
  [ -x "$engine_bin/$engine_b-$(engine_pin kubernetes.version)" ] || engine_k8s_missing=1
done
[ "$engine_k8s_missing" = 0 ] || engine_build "kube-apiserver, kube-controller-manager, kube-scheduler $(engine_pin kubernetes.version)" engine_kubernetes
unset engine_tools engine_cache engine_bin engine_k8s_missing engine_b
unset -f engine_pin engine_tidy engine_build engine_pulumi engine_kubernetes_provider engine_kubernetes
