#!/usr/bin/env bash
# A/B benchmark of cmd/heatbath between two revisions, side by side in one
# run: the machines here are noisy (±30% between minutes), so the two
# builds alternate, round after round, and the medians are compared.
#
#   bench/ab.sh OLD_REV BENCH_REGEX [ROUNDS] [NEW_REV]
#
# OLD_REV and NEW_REV are git revisions (NEW_REV defaults to the working
# tree). TMPDIR chooses the file system the run directories go to, e.g.
# TMPDIR=/dev/shm for tmpfs. Prints each run's benchmark lines tagged old/new,
# then the median of every metric per side and the ratio new/old.
# BENCHTIME (default 1x) is passed to -test.benchtime.
set -euo pipefail
old=${1:?old revision}; regex=${2:?benchmark regex}; rounds=${3:-5}; new=${4:-}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/old" "$old" >/dev/null 2>&1
(cd "$work/old" && go test -c -o "$work/old.test" ./cmd/heatbath)
if [ -n "$new" ]; then
  git -C "$root" worktree add --detach "$work/new" "$new" >/dev/null 2>&1
  (cd "$work/new" && go test -c -o "$work/new.test" ./cmd/heatbath)
else
  (cd "$root" && go test -c -o "$work/new.test" ./cmd/heatbath)
fi
out="$work/results"
for i in $(seq 1 "$rounds"); do
  for side in old new; do
    (cd "$root/cmd/heatbath" && "$work/$side.test" -test.run='^$' -test.bench="$regex" -test.benchtime="${BENCHTIME:-1x}") \
      | grep '^Benchmark' | sed "s/^/$side /" | tee -a "$out"
  done
done
# Median of each metric, by side and benchmark; ratio new/old.
awk '
{ side=$1; name=$2; for (i=4; i+1<=NF; i+=2) { key=name" "$(i+1); v[side,key]=v[side,key]" "$i; keys[key]=1 } }
function med(s,   n,a,i,j,t) { n=split(s,a," "); for(i=1;i<=n;i++)for(j=i+1;j<=n;j++)if(a[j]+0<a[i]+0){t=a[i];a[i]=a[j];a[j]=t}; return a[int((n+1)/2)] }
END { printf "%-60s %14s %14s %8s\n", "benchmark metric", "old", "new", "new/old";
  for (k in keys) { o=med(v["old",k]); n=med(v["new",k]); printf "%-60s %14s %14s %8.3f\n", k, o, n, (o+0 ? n/o : 0) } }' "$out" | sort
