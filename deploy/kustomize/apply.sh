#!/usr/bin/env sh
# Deploy (or upgrade) Eigen Regie on Kubernetes from one overlay, in the order it needs:
#   1. the namespace-wide objects and the migration Job (`prb migrate`), and wait for it;
#   2. everything else: the APIs, workers, relay and beat roll out on the migrated schema.
# The Secret eigen-regie-secrets must exist in the overlay's namespace (docs/operations.md).
#
#   deploy/kustomize/apply.sh deploy/kustomize/overlays/production
#
# KUBECTL (default: kubectl) and MIGRATE_TIMEOUT (default: 15m) can be set.
set -eu

overlay="${1:?usage: apply.sh <overlay directory>, e.g. deploy/kustomize/overlays/production}"
kubectl="${KUBECTL:-kubectl}"
timeout="${MIGRATE_TIMEOUT:-15m}"
rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT

"$kubectl" kustomize "$overlay" > "$rendered"
namespace="$(sed -n 's/^  namespace: //p' "$rendered" | head -n 1)"
namespace="${namespace:-default}"

echo "== migrate ($namespace)"
# A Job's template cannot change: the previous run goes first.
kubectl_ns() { "$kubectl" --namespace "$namespace" "$@"; }
kubectl_ns delete job migrate --ignore-not-found --wait=true
# The ConfigMap, service account, network policies and the Job: what the migration needs.
kubectl_ns apply -f "$rendered" -l 'app.kubernetes.io/component notin (api,worker,relay,beat)'
if ! kubectl_ns wait --for=condition=complete --timeout="$timeout" job/migrate; then
  kubectl_ns logs job/migrate --tail=50 || true
  echo "migration did not finish: nothing else was changed" >&2
  exit 1
fi

echo "== roll out ($namespace)"
kubectl_ns apply -f "$rendered"
for deployment in $(kubectl_ns get deployments -l app.kubernetes.io/part-of=eigen-regie -o name); do
  kubectl_ns rollout status "$deployment" --timeout=10m
done
