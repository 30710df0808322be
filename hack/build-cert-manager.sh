#!/usr/bin/env bash
# Builds our launcher of the real cert-manager controllers (hack/tools/cert-manager, cert-manager v1.21.2)
# into bin/, and copies cert-manager's CRDs beside it (the module cache is read-only).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BIN_DIR:-$root/bin}
mkdir -p "$out"
cd "$root/hack/tools/cert-manager"
go build -trimpath -ldflags "-s -w" -o "$out/cert-manager-controller" .
crds=$(go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)/deploy/crds
rm -rf "$out/cert-manager-crds"
mkdir -p "$out/cert-manager-crds"
cp "$crds"/*.yaml "$out/cert-manager-crds/"
chmod 0644 "$out/cert-manager-crds/"*.yaml
