#!/usr/bin/env python3
"""Whole-process A/B of `heatbath train` between two revisions.

The machines here are noisy (±30% between minutes), so the two builds run
alternately, pair after pair, on the same workloads, and the script reports
each side's median and the paired ratio new/old (median and range over the
pairs, and how many pairs new was faster in), for wall time and CPU time
(rusage user + system), with GOMAXPROCS=1 as bench/compare_issue12.py.

    bench/ab_train.py OLD_REV [--new NEW_REV] [--pairs 8] [--paper]

NEW_REV defaults to the working tree. Workloads: MNIST 784-100-10 B=50
3,000 steps (--train-size 10000 --test-size 1000; needs HEATBATH_MNIST_DIR
or the default MNIST folder) and SHLP H=100 B=50 20,000 steps on trig, BAOAB
as in compare_issue12.py; with --paper also AdLaLa and LOL on the spiral at
train's defaults, 20,000 steps. GOFLAGS=-tags=purego measures the pure-Go
fallback. It also checks that the two sides write the same
trajectory.csv, and says so when they do not (a numerics change).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

BAOAB = ["--method", "langevin", "--step-size", "0.05", "--gamma", "1", "--tau", "1e-4", "--eval-every", "200"]
WORKLOADS = {
    "mnist 784-100-10 B=50 3000 steps": BAOAB + ["--data", "mnist", "--train-size", "10000", "--test-size", "1000",
                                                 "--batch", "50", "--steps", "3000"],
    "shlp H=100 B=50 20000 steps": BAOAB + ["--data", "trig", "--hidden", "100", "--batch", "50", "--steps", "20000"],
}
# The paper's methods at heatbath train's defaults (spiral, H = 100, B = 25).
EXTRA = {
    "adlala spiral 20000 steps": ["--method", "adlala", "--steps", "20000"],
    "lol spiral 20000 steps": ["--method", "lol", "--steps", "20000"],
}


def build(root, rev, out):
    if rev is None:
        subprocess.run(["go", "build", "-o", out, "./cmd/heatbath"], cwd=root, check=True)
        return
    wt = tempfile.mkdtemp()
    subprocess.run(["git", "worktree", "add", "--detach", wt, rev], cwd=root, check=True, capture_output=True)
    try:
        subprocess.run(["go", "build", "-o", out, "./cmd/heatbath"], cwd=wt, check=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", wt], cwd=root, capture_output=True)


def once(binary, args):
    with tempfile.TemporaryDirectory() as d:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([binary, "train", "-q", "--out", os.path.join(d, "run")] + args,
                       env=dict(os.environ, GOMAXPROCS="1"), check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(os.path.join(d, "run", "trajectory.csv"), "rb") as f:
            traj = f.read()
        return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), traj


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("--new", default=None, help="revision (default: the working tree)")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--paper", action="store_true", help="also AdLaLa and LOL on the spiral at train's defaults")
    a = ap.parse_args()
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                          check=True).stdout.strip()
    tmp = tempfile.mkdtemp()
    bins = {"old": os.path.join(tmp, "old"), "new": os.path.join(tmp, "new")}
    build(root, a.old, bins["old"])
    build(root, a.new, bins["new"])
    print(f"# A/B old={a.old} new={a.new or 'working tree'}, {a.pairs} alternating pairs, GOMAXPROCS=1; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    workloads = dict(WORKLOADS, **(EXTRA if a.paper else {}))
    for name, args in workloads.items():
        t = {"old": [], "new": []}
        same = True
        for i in range(a.pairs):
            order = ("old", "new") if i % 2 == 0 else ("new", "old")
            got = {}
            for side in order:
                got[side] = once(bins[side], args)
                t[side].append(got[side][:2])
            same = same and got["old"][2] == got["new"][2]
        print(f"\n## {name} (trajectory.csv {'identical' if same else 'differs'} between the sides)")
        print("| metric | old median, s | new median, s | paired new/old median (range) | new faster |")
        print("|---|---:|---:|---|---:|")
        for k, label in ((0, "wall"), (1, "CPU")):
            o = [x[k] for x in t["old"]]
            n = [x[k] for x in t["new"]]
            r = [nn / oo for nn, oo in zip(n, o)]
            print(f"| {label} | {statistics.median(o):.3f} | {statistics.median(n):.3f} | "
                  f"{statistics.median(r):.3f} ({min(r):.3f}–{max(r):.3f}) | {sum(x < 1 for x in r)} of {len(r)} |")
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
