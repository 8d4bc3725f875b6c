#!/bin/sh
# The whole reproduction study at full size (README.md): for every tuning
# spec of this folder (or the ones named), the tuning sweep, heatbath tune
# with 20 fresh seeds, the final sweep and its report; the wall time of each
# step goes to OUT/times.tsv for docs/reproduction.md. Run on a quiet
# machine; a sweep that was interrupted resumes when the same command is run
# again (heatbath run resumes an --out of the same spec).
#
#   sh examples/paper/run_all.sh [OUT] [claim1-spiral4 ...]   (OUT default runs/paper)
#
# HEATBATH (default: heatbath on the PATH) names the binary to use; SPECS (default:
# this folder) the folder the NAME-tune.yaml specs are read from.
set -eu
hb=${HEATBATH:-heatbath}
out=${1:-runs/paper}
[ $# -gt 0 ] && shift
here=${SPECS:-$(dirname "$0")}
mkdir -p "$out"
names=$*
if [ -z "$names" ]; then
	for spec in "$here"/claim*-tune.yaml; do names="$names $(basename "$spec" -tune.yaml)"; done
fi
[ -f "$out/times.tsv" ] || printf 'name\tstep\tseconds\tstatus\n' > "$out/times.tsv"
timed() { # timed NAME STEP COMMAND...: runs the command, appends its wall time
	n=$1 s=$2
	shift 2
	t0=$(date +%s)
	rc=0
	"$@" || rc=$?
	printf '%s\t%s\t%s\t%s\n' "$n" "$s" "$(($(date +%s) - t0))" "$rc" >> "$out/times.tsv"
	# 3: some replicas failed (recorded; the study goes on, tune uses the done ones).
	[ $rc -eq 3 ] && return 0
	return $rc
}
for name in $names; do
	echo "== $name $(date -u +%H:%M:%S)"
	keep=
	case $name in claim5-*) keep="--keep tau" ;; esac
	timed "$name" tune-run "$hb" run "$here/$name-tune.yaml" --out "$out/$name-tune"
	"$hb" tune "$out/$name-tune" --seeds 20 $keep > "$out/$name-final.yaml"
	timed "$name" final-run "$hb" run "$out/$name-final.yaml" --out "$out/$name-final"
	timed "$name" report "$hb" report "$out/$name-final" --thresholds 0.7,0.8,0.9 > "$out/$name-final.report.txt"
done
cat "$out/times.tsv"
