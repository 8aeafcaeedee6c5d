#!/usr/bin/env bash
# Generates the deployment manifests from the code: RBAC roles and the webhook configuration
# from the +kubebuilder markers (controller-gen), their copies and the CRDs inside the Helm
# chart (a chart can only read its own files), and config/manager from the chart's templates
# (so `kubectl apply -k config/default` and `helm install` run the same pods).
#
#   CONTROLLER_GEN  (default ~/.cache/weft/bin/controller-gen, see hack/install-deps.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BIN_DIR=${WEFT_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/bin}
CONTROLLER_GEN=${CONTROLLER_GEN:-$BIN_DIR/controller-gen}
helm=$(hack/install-helm.sh | sed -n 's/^HELM=//p')

rm -rf config/rbac/controller config/rbac/agent
"$CONTROLLER_GEN" rbac:roleName=weft-controller \
  paths="./cmd/weft-controller/...;./internal/nodeindex/...;./internal/webhook/...;./internal/status/...;./internal/certs/..." \
  output:rbac:artifacts:config=config/rbac/controller
"$CONTROLLER_GEN" rbac:roleName=weft-agent paths="./internal/agent/..." output:rbac:artifacts:config=config/rbac/agent
"$CONTROLLER_GEN" webhook paths="./internal/webhook/..." output:webhook:artifacts:config=config/webhook

chart=charts/weft
rm -rf "$chart/crds" "$chart/files"
mkdir -p "$chart/crds" "$chart/files/rbac"
cp config/crd/bases/*.yaml "$chart/crds/"
cp config/rbac/controller/role.yaml "$chart/files/rbac/controller.yaml"
cp config/rbac/agent/role.yaml "$chart/files/rbac/agent.yaml"
cp config/webhook/manifests.yaml "$chart/files/webhook.yaml"

for t in controller agent; do
  {
    echo "# Generated from charts/weft/templates/$t.yaml by hack/generate-deploy.sh; do not edit."
    "$helm" template weft "$chart" --namespace weft-system --kube-version 1.34.4 --show-only "templates/$t.yaml" |
      sed -e '/^# Source/d' -e '/helm.sh\/chart/d' -e '/managed-by: Helm/d' -e '/app.kubernetes.io\/instance/d'
  } > "config/manager/$t.yaml"
done
