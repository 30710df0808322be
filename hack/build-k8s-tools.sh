#!/usr/bin/env bash
# Builds the real control plane the tests run against into bin/: kube-apiserver, kubectl (k8s.io/kubernetes)
# and etcd; kube-controller-manager for the tests that need a workload controller to observe a change. Cold: ~10 min on 2 cores; warm: seconds (Go's build cache).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BIN_DIR:-$root/bin}
mkdir -p "$out"
k8s_version=v1.37.2
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
cd "$root/hack/tools/k8s"
go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "$ldflags" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl
go build -trimpath -ldflags "$ldflags" -o "$out/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
