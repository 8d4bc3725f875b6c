"""Difference of two groups' means in a run, with a 95% percentile bootstrap interval.

For comparisons the report does not tabulate (it compares the methods'
representative groups; within a method's temperature ladder it does not):

    /usr/bin/python3 examples/paper/groupdiff.py RUN "method=lol,tau=0.001" "method=lol,tau=1e-07" [--col final_test_acc]
    /usr/bin/python3 examples/paper/groupdiff.py RUN "method=momentum" "method=adam" --run-b OTHER_RUN

With --run-b, group B is read from another run directory (an arm run as a sweep
of its own with the same data, steps and seeds: a replica's numbers depend only
on its settings and seed, not on the sweep it ran in).

Prints mean(A) − mean(B) over the done replicas of each group (replicas.csv's
group column) and its interval from 4000 resamples of each group (seed 0), as
examples/paper/overfit_gap.py does. Needs numpy and pandas (Debian python3-pandas).
"""
import argparse
import os
import sys

import numpy as np
import pandas as pd


def boot_diff(x, y, resamples=4000):
    """mean(x) − mean(y) and its 95% percentile bootstrap interval: each group
    resampled with replacement, resamples times, from numpy's default_rng(0)."""
    rng = np.random.default_rng(0)
    d = [rng.choice(x, len(x)).mean() - rng.choice(y, len(y)).mean() for _ in range(resamples)]
    lo, hi = np.percentile(d, [2.5, 97.5])
    return x.mean() - y.mean(), lo, hi


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--col", default="final_test_acc")
    ap.add_argument("--run-b", help="read group B from this run directory instead of RUN")
    args = ap.parse_args()

    def done(run):
        r = pd.read_csv(os.path.join(run, "replicas.csv"))
        return r[r["status"] == "done"]

    ra = done(args.run)
    rb = done(args.run_b) if args.run_b else ra
    x = ra[ra["group"] == args.a][args.col].to_numpy()
    y = rb[rb["group"] == args.b][args.col].to_numpy()
    if len(x) == 0:
        sys.exit(f"groupdiff: no done replica in group {args.a!r} of {args.run}")
    if len(y) == 0:
        sys.exit(f"groupdiff: no done replica in group {args.b!r} of {args.run_b or args.run}")
    diff, lo, hi = boot_diff(x, y)
    print(f"{args.col}: {args.a} (n={len(x)}) − {args.b} (n={len(y)}) = {diff:+.4f} [{lo:+.4f}, {hi:+.4f}]")


if __name__ == "__main__":
    main()
