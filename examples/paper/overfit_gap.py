"""Claim 7's overfitting measures (docs/reproduction.md) from a run's replicas.csv.

Per method (label): the final train and test accuracy and loss, and the rise of the
test loss after the best-validation evaluation (final test loss − test loss at the
best validation loss), means and sd over the done seeds; then each method's
difference to a reference method (default sgd) in final test loss and in that rise,
with a 95% percentile bootstrap interval (groupdiff.boot_diff: 4000 resamples of each group, seed 0).

    /usr/bin/python3 examples/paper/overfit_gap.py runs/paper/claim7-overfit-final [--ref sgd]

Reads only replicas.csv (docs/formats.md). Needs numpy and pandas (Debian python3-pandas).
"""
import argparse
import os

import pandas as pd

from groupdiff import boot_diff  # this folder is on sys.path when the script runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--ref", default="sgd")
    a = ap.parse_args()
    r = pd.read_csv(os.path.join(a.run, "replicas.csv"))
    r = r[r["status"] == "done"].copy()
    r["rise"] = r["final_test_loss"] - r["best_test_loss"]
    cols = ["final_train_acc", "final_test_acc", "final_train_loss", "final_test_loss", "rise"]
    print(r.groupby("method")[cols].agg(["mean", "std"]).round(3).to_string())
    groups = dict(tuple(r.groupby("method")))
    ref = groups[a.ref]
    print(f"\ndifference to {a.ref}, mean [95% bootstrap CI]")
    for m, g in groups.items():
        if m == a.ref:
            continue
        for col in ("final_test_loss", "rise"):
            x, y = g[col].to_numpy(), ref[col].to_numpy()
            diff, lo, hi = boot_diff(x, y)
            print(f"{m:>14} {col:>16}: {diff:+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
