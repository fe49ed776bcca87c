#!/bin/sh
# Copies upstream images into the registry; run by the mirroring Job (skopeo image), and for real
# by tests/e2e/access.spec.ts.
#
# IMAGES: a file with one `<upstream reference> <target name:tag>` per line.
# DEST: the registry's host[:port]; DEST_CERT_DIR: a directory with its CA as ca.crt;
# AUTH_FILE: a docker config.json with credentials for DEST. Upstreams are read anonymously and
# trusted with the image's system CAs. Every image is tried; the Job fails if any copy failed.
set -eu
: "${IMAGES:?}" "${DEST:?}" "${DEST_CERT_DIR:?}" "${AUTH_FILE:?}"

copied=0
failed=0
while read -r src dst || [ -n "${src:-}" ]; do
    [ -n "${src:-}" ] || continue
    echo "mirror: $src -> $DEST/$dst"
    # --all: every platform of a multi-arch image, so any node can run it.
    if skopeo copy --all --retry-times 3 --src-no-creds \
        --dest-cert-dir "$DEST_CERT_DIR" --dest-authfile "$AUTH_FILE" \
        "docker://$src" "docker://$DEST/$dst"; then
        copied=$((copied + 1))
    else
        echo "mirror: FAILED $src" >&2
        failed=$((failed + 1))
    fi
done <"$IMAGES"
echo "mirror: $copied copied, $failed failed"
[ "$failed" -eq 0 ]
