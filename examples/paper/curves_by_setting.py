"""Learning curves of every group of a run, as a table and a chart (claim 6).

The report draws one line per method's representative group when a run has
many groups; claim 6 asks where Adam stalls at each learning rate, so this
script tabulates and draws every group of the chosen methods (all by default):
the mean test accuracy over the group's done seeds at a few steps, and the
steps after which it stopped improving by more than --tol.

    /usr/bin/python3 examples/paper/curves_by_setting.py runs/paper/claim6-trig-fig2-tune \
        --method adam --out runs/paper/claim6-trig-fig2-adam.png

It reads only replicas.csv and each done replica's trajectory.csv (the run
directory format of docs/formats.md); test metrics are only reported here,
never used to choose anything.
"""

import argparse
import os
import sys

import pandas as pd


def load(run, methods):
    reps = pd.read_csv(os.path.join(run, "replicas.csv"))
    reps = reps[reps["status"] == "done"]
    if methods:
        reps = reps[reps["method"].isin(methods)]
    if reps.empty:
        sys.exit(f"{run}: no done replica of method {', '.join(methods) or '(any)'}")
    curves = []
    for _, r in reps.iterrows():
        t = pd.read_csv(os.path.join(run, "replicas", r["id"], "trajectory.csv"), usecols=["step", "test_acc"])
        t["group"], t["seed"] = r["group"], r["seed"]
        curves.append(t)
    return pd.concat(curves)


def stall_step(mean, tol):
    """The first step after which the mean test accuracy never rises by more than tol."""
    acc = mean.to_numpy()
    steps = mean.index.to_numpy()
    best_after = pd.Series(acc[::-1]).cummax().to_numpy()[::-1]
    for i, s in enumerate(steps):
        if best_after[i] - acc[i] <= tol:
            return int(s)
    return int(steps[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="run directory")
    ap.add_argument("--method", action="append", default=[], help="method (label) to show; repeatable; default all")
    ap.add_argument("--tol", type=float, default=0.002, help="accuracy gain below which a curve counts as stalled")
    ap.add_argument("--out", help="PNG file for the chart (needs matplotlib)")
    a = ap.parse_args()

    c = load(a.run, a.method)
    mean = c.groupby(["group", "step"])["test_acc"].mean().unstack(0)
    n = c.groupby("group")["seed"].nunique()
    steps = mean.index.to_numpy()
    marks = sorted({int(steps[min(len(steps) - 1, int(round(f * (len(steps) - 1))))]) for f in (0.1, 0.2, 0.4, 0.6, 1.0)})
    print("| group | seeds | " + " | ".join(f"test acc @ {s}" for s in marks) + f" | stalls after (gain ≤ {a.tol}) |")
    print("|---|---|" + "---|" * len(marks) + "---|")
    for g in mean.columns:
        m = mean[g].dropna()
        cells = [f"{m.get(s, float('nan')):.3f}" for s in marks]
        print(f"| {g} | {n[g]} | " + " | ".join(cells) + f" | {stall_step(m, a.tol)} |")

    if a.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 5))
        for g in mean.columns:
            ax.plot(mean.index, mean[g], label=f"{g} (n={n[g]})")
        ax.set_xlabel("step")
        ax.set_ylabel("test accuracy, mean over seeds")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.out, dpi=120)
        print(f"\nchart: {a.out}")


if __name__ == "__main__":
    main()
