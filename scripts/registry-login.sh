#!/usr/bin/env bash
# Trust the registry's CA and log in, from the Pulumi stack outputs, on a workstation or CI box.
#
#   scripts/registry-login.sh [--stack STACK] [--cwd DIR] [--user USER] [--client NAME]...
#
# Reads `pulumi stack output --json --show-secrets` (registryHost, caCertificate, username,
# password, passwords), then:
#   - writes the CA as <dir>/<registryHost>/ca.crt in
#       $DOCKER_CERTS_D         default ~/.docker/certs.d
#       $DOCKER_SYSTEM_CERTS_D  default /etc/docker/certs.d as root (what dockerd reads), else skipped
#       $CONTAINERS_CERTS_D     default /etc/containers/certs.d as root, else ~/.config/containers/certs.d
#     (podman, buildah and skopeo read the last; set a variable to "" to skip that directory);
#   - logs in with each client: `--client docker|podman|buildah|skopeo` (repeatable), or every one of them
#     found on PATH. The password goes from the outputs to `login --password-stdin` through a pipe:
#     it is never a command-line argument of any process, never in a file this script writes.
# Needs bash, node (this project's runtime) and the pulumi CLI logged in to the stack's backend.
set -euo pipefail

usage() {
    sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

pulumi_args=()
user=""
clients=()
while [ $# -gt 0 ]; do
    case "$1" in
    -s | --stack) [ $# -ge 2 ] || usage; pulumi_args+=(--stack "$2"); shift 2 ;;
    -C | --cwd) [ $# -ge 2 ] || usage; pulumi_args+=(--cwd "$2"); shift 2 ;;
    -u | --user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
    --client)
        [ $# -ge 2 ] || usage
        case "$2" in docker | podman | buildah | skopeo) clients+=("$2") ;; *) echo "registry-login: --client must be docker, podman, buildah or skopeo; got '$2'" >&2; exit 2 ;; esac
        shift 2
        ;;
    -h | --help) usage ;;
    *) echo "registry-login: unknown argument '$1'" >&2; usage ;;
    esac
done

if [ "$(id -u)" = 0 ]; then
    : "${DOCKER_SYSTEM_CERTS_D=/etc/docker/certs.d}"
    : "${CONTAINERS_CERTS_D=/etc/containers/certs.d}"
else
    : "${DOCKER_SYSTEM_CERTS_D=}"
    : "${CONTAINERS_CERTS_D=$HOME/.config/containers/certs.d}"
fi
: "${DOCKER_CERTS_D=$HOME/.docker/certs.d}"

# The outputs stay in this shell's memory; `printf` is a builtin, so they never reach an argv.
outputs=$(pulumi stack output --json --show-secrets "${pulumi_args[@]}")

# field NAME [USER]: prints one output (a user's password from `passwords` when USER is given).
field() {
    printf '%s' "$outputs" | node -e '
        const [name, user] = process.argv.slice(1);
        let text = "";
        process.stdin.on("data", (c) => (text += c)).on("end", () => {
            const o = JSON.parse(text);
            const v = user ? (o.passwords || {})[user] : o[name];
            if (typeof v !== "string" || v === "") {
                console.error(user ? `registry-login: the stack has no password for user ${user} (outputs.passwords)` : `registry-login: the stack has no output ${name}`);
                process.exit(1);
            }
            process.stdout.write(v);
        });
    ' "$@"
}

host=$(field registryHost)
ca=$(field caCertificate)
if [ -z "$user" ]; then
    user=$(field username)
    password() { field password; }
else
    field password "$user" >/dev/null
    password() { field password "$user"; }
fi

for dir in "$DOCKER_CERTS_D" "$DOCKER_SYSTEM_CERTS_D" "$CONTAINERS_CERTS_D"; do
    [ -n "$dir" ] || continue
    mkdir -p "$dir/$host"
    printf '%s\n' "$ca" >"$dir/$host/ca.crt.tmp"
    chmod 0644 "$dir/$host/ca.crt.tmp"
    mv -f "$dir/$host/ca.crt.tmp" "$dir/$host/ca.crt"
    echo "registry-login: CA for $host in $dir/$host/ca.crt"
done
if [ "$(id -u)" != 0 ] && [ -z "$DOCKER_SYSTEM_CERTS_D" ]; then
    echo "registry-login: dockerd on Linux reads /etc/docker/certs.d; as root, or: sudo install -D -m 0644 $DOCKER_CERTS_D/$host/ca.crt /etc/docker/certs.d/$host/ca.crt" >&2
fi

if [ ${#clients[@]} -eq 0 ]; then
    for c in docker podman buildah skopeo; do
        command -v "$c" >/dev/null 2>&1 && clients+=("$c")
    done
    if [ ${#clients[@]} -eq 0 ]; then
        echo "registry-login: no docker, podman, buildah or skopeo on PATH; CA installed, not logged in" >&2
        exit 0
    fi
fi
for c in "${clients[@]}"; do
    password | "$c" login --username "$user" --password-stdin "$host"
    echo "registry-login: $c logged in to $host as $user"
done
