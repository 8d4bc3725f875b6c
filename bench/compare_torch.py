#!/usr/bin/env python3
"""Side-by-side speed comparison of Heatbath's step against the PyTorch
reference (bench/torch_shlp.py), run in one session so that machine
drift hits both alike.

For each round it runs torch_ref.py (1 thread, float32 and float64) and then
`go test -bench Step|Eval1000 ./train`, alternating, and reports per
configuration the median steps/s of each side and their ratio. Needs Debian's
python3-torch (apt-get install python3-torch libopenblas0-pthread) and runs it
with /usr/bin/python3.

    bench/compare_torch.py [--rounds 3] [--torch-ref PATH] [--out docs/bench-torch.txt]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, env=None):
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def torch_round(ref, dtype, steps):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
               GLIBC_TUNABLES="glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=536870912")
    txt = run(["/usr/bin/python3", ref, "--H", "100", "500", "--B", "20", "25", "50", "--threads", "1",
               "--dtype", dtype, "--steps", str(steps), "--reps", "3",
               "--methods", "baoab_flat", "baoab", "sgd", "adam"], env)
    res = {}
    for m in re.finditer(r"H=(\d+) B=(\d+) (\w+)\s+([\d.]+) steps/s", txt):
        res[(int(m[1]), int(m[2]), m[3])] = float(m[4])
    for m in re.finditer(r"H=(\d+) B=(\d+) eval1000\s+([\d.]+) us/eval", txt):
        res[(int(m[1]), int(m[2]), "eval_us")] = float(m[3])
    return res


def go_round(benchtime):
    env = dict(os.environ, GOMAXPROCS="1")
    txt = run(["go", "test", "./train", "-run", "^$", "-bench", "Step|Eval1000", "-benchtime", benchtime], env)
    res = {}
    for m in re.finditer(r"BenchmarkStep/H=(\d+)/B=(\d+)/(\w+)\S*\s+\d+\s+[\d.]+ ns/op\s+([\d.]+) steps/s\s+(\d+) B/op\s+(\d+) allocs/op", txt):
        res[(int(m[1]), int(m[2]), m[3])] = float(m[4])
        res[(int(m[1]), int(m[2]), m[3] + "_allocs")] = int(m[6])
    for m in re.finditer(r"BenchmarkEval1000/H=(\d+)\S*\s+\d+\s+([\d.]+) ns/op", txt):
        res[(int(m[1]), 0, "eval_us")] = float(m[2]) / 1000
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--torch-ref", default=os.path.join(HERE, "torch_shlp.py"))
    ap.add_argument("--torch-steps", type=int, default=1000)
    ap.add_argument("--go-benchtime", default="3000x")
    ap.add_argument("--out")
    args = ap.parse_args()
    torch32, torch64, gos = [], [], []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}: torch float32", file=sys.stderr)
        torch32.append(torch_round(args.torch_ref, "float32", args.torch_steps))
        print(f"round {r + 1}/{args.rounds}: go", file=sys.stderr)
        gos.append(go_round(args.go_benchtime))
        print(f"round {r + 1}/{args.rounds}: torch float64", file=sys.stderr)
        torch64.append(torch_round(args.torch_ref, "float64", args.torch_steps))

    def med(rounds, key):
        vals = [x[key] for x in rounds if key in x]
        return statistics.median(vals) if vals else float("nan")

    lines = ["| H | B | Go BAOAB steps/s (allocs/step) | PyTorch best BAOAB f32 / f64 | ratio Go/PyTorch (best of f32, f64) | Go AdLaLa | Go SGD / PyTorch SGD | Go Adam / PyTorch Adam |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for H in (100, 500):
        for B in (20, 25, 50):
            g = med(gos, (H, B, "baoab"))
            allocs = max(x.get((H, B, "baoab_allocs"), 0) for x in gos)
            t32 = max(med(torch32, (H, B, "baoab_flat")), med(torch32, (H, B, "baoab")))
            t64 = max(med(torch64, (H, B, "baoab_flat")), med(torch64, (H, B, "baoab")))
            best = max(t32, t64)
            sgd = med(gos, (H, B, "sgd")) / max(med(torch32, (H, B, "sgd")), med(torch64, (H, B, "sgd")))
            adam = med(gos, (H, B, "adam")) / max(med(torch32, (H, B, "adam")), med(torch64, (H, B, "adam")))
            lines.append(f"| {H} | {B} | {g:,.0f} ({allocs}) | {t32:,.0f} / {t64:,.0f} | **{g / best:.1f}×** | "
                         f"{med(gos, (H, B, 'adlala')):,.0f} | {sgd:.1f}× | {adam:.1f}× |")
    lines.append("")
    lines.append("| H | Go eval of 1000 points (µs) | PyTorch eval (µs, f32 / f64, B=50 run) | ratio |")
    lines.append("|---:|---:|---:|---:|")
    for H in (100, 500):
        g = med(gos, (H, 0, "eval_us"))
        t32, t64 = med(torch32, (H, 50, "eval_us")), med(torch64, (H, 50, "eval_us"))
        lines.append(f"| {H} | {g:.0f} | {t32:.0f} / {t64:.0f} | {min(t32, t64) / g:.1f}× |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(os.path.join(ROOT, args.out), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
