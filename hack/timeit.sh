#!/usr/bin/env bash
# Times a command as a whole process RUNS times and prints "median min max" in seconds.
# Usage: hack/timeit.sh RUNS CMD [ARGS...]   (CMD may use $RUN, the run number, to keep runs apart)
set -euo pipefail
runs=$1; shift
times=()
for ((RUN = 1; RUN <= runs; RUN++)); do
  export RUN
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  times+=("$(( end - start ))")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 / 1e9 } END {
  m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
  printf "%.4f %.4f %.4f\n", m, t[1], t[NR] }'
