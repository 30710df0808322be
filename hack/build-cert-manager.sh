#!/usr/bin/env bash
# Builds our launcher of the real cert-manager controllers (hack/tools/cert-manager, cert-manager v1.21.2)
# into bin/, and copies cert-manager's CRDs and the Gateway API CRDs beside it (the module cache is read-only).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BIN_DIR:-$root/bin}
mkdir -p "$out"
cd "$root/hack/tools/cert-manager"
go build -trimpath -ldflags "-s -w" -o "$out/cert-manager-controller" .
go build -trimpath -ldflags "-s -w" -o "$out/acmesolver" ./acmesolver
crds=$(go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)/deploy/crds
rm -rf "$out/cert-manager-crds"
mkdir -p "$out/cert-manager-crds"
cp "$crds"/*.yaml "$out/cert-manager-crds/"
chmod 0644 "$out/cert-manager-crds/"*.yaml
# The Gateway API CRDs (standard channel) of the version cert-manager's gateway-shim is built against.
gwapi=$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)/config/crd/standard
rm -rf "$out/gateway-api-crds"
mkdir -p "$out/gateway-api-crds"
cp "$gwapi"/gateway.networking.k8s.io_*.yaml "$out/gateway-api-crds/"
rm -f "$out/gateway-api-crds/"*vap*.yaml   # a ValidatingAdmissionPolicy, not a CRD
chmod 0644 "$out/gateway-api-crds/"*.yaml
