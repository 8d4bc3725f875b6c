#!/bin/sh
# Smoke test of the reproduction workflow: every tuning spec of this folder
# shrunk to a few steps and 2 seeds, then tune -> final run -> report, as
# README.md runs them at full size. Numbers from it mean nothing; it proves
# that the specs, heatbath tune and the reports work together.
#
#   sh examples/paper/smoke.sh [OUT]      (from the repository root; OUT default runs/paper-smoke)
#
# HEATBATH (default: heatbath on the PATH) names the binary to use.
set -eu
hb=${HEATBATH:-heatbath}
out=${1:-runs/paper-smoke}
here=$(dirname "$0")
mkdir -p "$out"
for spec in "$here"/claim*-tune.yaml; do
	name=$(basename "$spec" -tune.yaml)
	case $name in
	claim8-*) steps=60 every=20 ;;
	*) steps=400 every=100 ;;
	esac
	# Fewer steps and seeds; the schedule starts and checkpoints scaled down with them.
	sed -e "s/^steps: .*/steps: $steps/" -e "s/^eval_every: .*/eval_every: $every/" -e "s/^seeds: .*/seeds: 2/" \
		-e "s/^name: \(.*\)/name: \1-smoke/" -e "s/start: 60000/start: 300/" -e "s/^  every: .*/  every: 200/" \
		"$spec" > "$out/$name-tune.yaml"
	echo "== $name"
	"$hb" run "$out/$name-tune.yaml" --out "$out/$name-tune" --force > "$out/$name-tune.log" 2>&1
	keep=
	case $name in claim5-*) keep="--keep tau" ;; esac
	"$hb" tune "$out/$name-tune" --seeds 2 $keep > "$out/$name-final.yaml"
	"$hb" run "$out/$name-final.yaml" --out "$out/$name-final" --force > "$out/$name-final.log" 2>&1
	tail -n 1 "$out/$name-final.log"
done
