#!/usr/bin/env bash
# Whole-process timings: `kubectl-kestra_tls certs` against the guide's openssl+keytool pipeline, each into a
# fresh folder (so nothing is reused), median of several runs, and the ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
plugin=$root/bin/kubectl-kestra_tls
runs=${RUNS:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export plugin work

read -r guide gmin gmax < <("$root/hack/timeit.sh" "$runs" bash -c '"$0" "$work/guide-$RUN"' "$root/hack/guide-pipeline.sh")
read -r ecdsa emin emax < <("$root/hack/timeit.sh" "$runs" bash -c '"$plugin" certs --host kestra.example.com -o "$work/ecdsa-$RUN"')
read -r rsa rmin rmax < <("$root/hack/timeit.sh" "$runs" bash -c '"$plugin" certs --host kestra.example.com --key-algorithm rsa-4096 -o "$work/rsa-$RUN"')

printf '%-42s %10s %10s %10s %12s\n' "certificates ($runs runs, seconds)" median min max "vs guide"
printf '%-42s %10s %10s %10s %12s\n' "guide openssl+keytool pipeline (RSA-4096)" "$guide" "$gmin" "$gmax" "1"
printf '%-42s %10s %10s %10s %12s\n' "kubectl-kestra_tls certs (ecdsa-p256)" "$ecdsa" "$emin" "$emax" "$(awk -v a="$ecdsa" -v b="$guide" 'BEGIN{printf "1/%.0f", b/a}')"
printf '%-42s %10s %10s %10s %12s\n' "kubectl-kestra_tls certs (rsa-4096)" "$rsa" "$rmin" "$rmax" "$(awk -v a="$rsa" -v b="$guide" 'BEGIN{printf "1/%.1f", b/a}')"
