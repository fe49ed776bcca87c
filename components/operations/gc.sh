#!/bin/sh
# Garbage collection of a registry Deployment that cannot corrupt data.
#
# `registry garbage-collect` must not run while the registry accepts pushes (a blob uploaded
# during the mark phase is swept), and after it no pod may keep a blob-descriptor cache that
# still lists swept blobs (distribution #1803/#3743: a stale cache answers HEAD for a deleted
# layer, the client skips the upload, and the registry later serves a 0-byte layer). So:
#
#   1. maintenance: MODE=readonly  set REGISTRY_STORAGE_MAINTENANCE_READONLY on the Deployment
#                                  and wait for the rollout (pulls keep working; shared storage)
#                   MODE=scale     scale to 0 and wait for the pods to go (a ReadWriteOnce
#                                  volume can then be mounted by the GC Job)
#   2. create the GC Job (job.json: the registry's own pod spec running `garbage-collect`) and
#      wait for it to complete
#   3. restore read-write (remove the variable / scale back), which replaces every pod: all
#      caches start empty. Restoring happens on failure too (trap), and the original replica
#      count is kept in an annotation, so a run that died half-way is repaired by the next.
#
# Env: NAMESPACE, DEPLOYMENT, MODE (readonly|scale), JOB_MANIFEST, TIMEOUT (kubectl duration).
set -eu

: "${NAMESPACE:?}" "${DEPLOYMENT:?}" "${MODE:?}" "${JOB_MANIFEST:?}"
TIMEOUT=${TIMEOUT:-3600s}
ANNOTATION=registry.day2/replicas-before-gc
READONLY_ENV=REGISTRY_STORAGE_MAINTENANCE_READONLY
k() { kubectl --namespace "$NAMESPACE" "$@"; }
log() { echo "gc: $*"; }

restore() {
  status=$?
  trap - EXIT INT TERM
  if [ "$MODE" = readonly ]; then
    log "restoring read-write"
    k set env "deployment/$DEPLOYMENT" "$READONLY_ENV-" || status=1
  else
    log "scaling back to $replicas"
    k scale "deployment/$DEPLOYMENT" --replicas="$replicas" || status=1
  fi
  k rollout status "deployment/$DEPLOYMENT" --timeout="$TIMEOUT" || status=1
  k annotate "deployment/$DEPLOYMENT" "$ANNOTATION-" >/dev/null || status=1
  log "done (exit $status)"
  exit "$status"
}

# A previous run that died keeps its annotation: the registry is still in maintenance.
previous=$(k get deployment "$DEPLOYMENT" -o "jsonpath={.metadata.annotations.registry\.day2/replicas-before-gc}")
if [ -n "$previous" ]; then
  replicas=$previous
  log "a previous run did not finish; it recorded $replicas replicas"
else
  replicas=$(k get deployment "$DEPLOYMENT" -o "jsonpath={.spec.replicas}")
  k annotate --overwrite "deployment/$DEPLOYMENT" "$ANNOTATION=$replicas" >/dev/null
fi
trap restore EXIT
trap 'exit 143' INT TERM

if [ "$MODE" = readonly ]; then
  log "read-only maintenance on $DEPLOYMENT"
  k set env "deployment/$DEPLOYMENT" "$READONLY_ENV={\"enabled\":true}"
  k rollout status "deployment/$DEPLOYMENT" --timeout="$TIMEOUT"
else
  log "scaling $DEPLOYMENT from $replicas to 0"
  k scale "deployment/$DEPLOYMENT" --replicas=0
  selector=$(k get deployment "$DEPLOYMENT" -o "jsonpath={.spec.selector.matchLabels}" | sed -e 's/[{}"]//g' -e 's/:/=/g')
  k wait --for=delete pod --selector="$selector" --timeout="$TIMEOUT"
fi

job=$(k create -f "$JOB_MANIFEST" -o name)
log "running $job"
# The Job has backoffLimit 0 and an activeDeadlineSeconds, so it ends as succeeded or failed.
while :; do
  state=$(k get "$job" -o "jsonpath={.status.succeeded}/{.status.failed}")
  case "$state" in
    1/*) break ;;
    */[1-9]*) k logs "$job" --tail=100 || true; log "$job failed"; exit 1 ;;
  esac
  sleep "${POLL_SECONDS:-5}"
done
k logs "$job" --tail=100 || true
log "$job completed"
