"""The numbers of docs/reproduction.md, as Markdown, from the study's run directories.

For each study name (claim1-spiral4, ...) it reads what run_all.sh left in OUT:
OUT/times.tsv (wall times), OUT/NAME-final.yaml (heatbath tune's choice and its
candidates table, in the comments) and OUT/NAME-final/report/summary.json and
report.html (heatbath report of the final runs), and prints one section with
the tuning table, the final runs per method (n, mean and 95% interval of the
final test accuracy, sd, IQR, steps to reach each threshold), the comparisons
involving AdLaLa or LOL (methods named adlala* or lol*; difference and Hedges' g with bootstrap intervals,
Brown-Forsythe p), the restricted-mean steps to reach, equipartition, the
small-parameter fractions and the temperature ladder when there is one.

    /usr/bin/python3 examples/paper/tables.py runs/paper [claim1-spiral4 ...] > tables.md
    /usr/bin/python3 examples/paper/tables.py runs/paper --times      (the wall-time table alone)

Standard library only. It computes nothing new: every number is the report's
(ensemble package) or tune's, so the document and the reports cannot disagree.
"""

import html
import json
import os
import re
import sys

FOCUS = ("adlala", "lol")


def fmt(x, p=4):
    if x is None:
        return "–"
    if isinstance(x, float) and (x != x):
        return "–"
    return f"{x:.{p}f}"


def ci(s, p=4):
    if not s or s.get("n", 0) == 0 or s.get("mean") is None:
        return "–"
    lo, hi = s.get("ci_lo"), s.get("ci_hi")
    if lo is None:
        return fmt(s["mean"], p)
    return f"{fmt(s['mean'], p)} [{fmt(lo, p)}, {fmt(hi, p)}]"


def pval(p):
    if p is None:
        return "–"
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"


def times(out, name):
    path = os.path.join(out, "times.tsv")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            next(f, None)
            for line in f:
                n, step, sec, rc = line.rstrip("\n").split("\t")
                if n == name:
                    rows.append((step, int(sec), rc))
    return rows


def tune_comments(out, name):
    """The chosen settings and the candidates table from the final spec's comments."""
    path = os.path.join(out, name + "-final.yaml")
    chosen, table, in_table = [], [], False
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                break
            text = line[1:].strip()
            if text.startswith("methods["):
                chosen.append(re.sub(r"^methods\[\d+\] ", "", text))
            if text.startswith("| method"):
                in_table = True
            if in_table:
                if not text.startswith("|"):
                    in_table = False
                else:
                    table.append(text)
    return chosen, table


def small_fractions(report_dir):
    path = os.path.join(report_dir, "report.html")
    if not os.path.exists(path):
        return None
    text = html.unescape(open(path).read())
    m = re.search(r"(Fraction of parameters with \|θ\| < .*?)Files:", text, re.S)
    return m.group(1).strip() if m else None


def section(out, name):
    lines = [f"### {name}", ""]
    t = times(out, name)
    if t:
        total = sum(s for _, s, _ in t)
        parts = ", ".join(f"{step} {s} s" + (f" (exit {rc})" if rc != "0" else "") for step, s, rc in t)
        lines += [f"Wall time: {parts}; total {total / 60:.1f} min.", ""]
    chosen, table = tune_comments(out, name)
    lines += ["Chosen on validation (heatbath tune):", ""] + [f"- {c}" for c in chosen] + [""]
    lines += ["<details><summary>Tuning table (mean best.val_loss over the tuning seeds)</summary>", ""]
    lines += table + ["", "</details>", ""]
    rep = os.path.join(out, name + "-final", "report")
    s = json.load(open(os.path.join(rep, "summary.json")))
    thresholds = s["options"].get("thresholds") or []
    head = "| group | done/total | final test acc, mean [95% CI] | sd | IQR | final test loss |"
    sep = "|---|---|---|---|---|---|"
    for th in thresholds:
        head += f" to {th:g}: reached/n, median steps |"
        sep += "---|"
    lines += [head, sep]
    for g in s["groups"]:
        st = g["status"]
        a = g["final_test_acc"]
        row = (f"| {g['group']} | {st['done']}/{st['total']} | {ci(a)} | {fmt(a.get('sd'))} | {fmt(a.get('iqr'))} "
               f"| {fmt(g['final_test_loss'].get('mean'))} |")
        for r in g.get("reach") or []:
            med = r["steps"].get("median")
            row += f" {r['reached']}/{r['n']}, {'–' if med is None else int(med)} |"
        lines.append(row)
    lines.append("")
    comps = [c for c in s.get("comparisons") or [] if c["method_a"].startswith(FOCUS) or c["method_b"].startswith(FOCUS)]
    if comps:
        lines += ["| A | B | Δ test acc [95% bootstrap CI] | Hedges' g [95% CI] | Brown–Forsythe p |",
                  "|---|---|---|---|---|"]
        for c in comps:
            lev = c.get("levene") or {}
            lines.append(f"| {c['a']} | {c['b']} | {fmt(c['diff'])} [{fmt(c['diff_lo'])}, {fmt(c['diff_hi'])}] "
                         f"| {fmt(c['hedges_g'], 2)} [{fmt(c['hedges_g_lo'], 2)}, {fmt(c['hedges_g_hi'], 2)}] "
                         f"| {pval(lev.get('p'))} |")
        lines.append("")
        if any(c.get("reach") for c in comps):
            lines += ["Steps to reach, by pair (restricted mean; a chain that never reaches counts as its last step):",
                      "", "| A | B | test acc | mean steps A (never) | mean steps B (never) | Δ [95% bootstrap CI] |",
                      "|---|---|---|---|---|---|"]
            for c in comps:
                for r in c.get("reach") or []:
                    lines.append(f"| {c['a']} | {c['b']} | {r['threshold']:g} | {r['mean_a']:.0f} ({r['never_a']}) "
                                 f"| {r['mean_b']:.0f} ({r['never_b']}) | {r['diff']:.0f} [{r['diff_lo']:.0f}, "
                                 f"{r['diff_hi']:.0f}] |")
            lines.append("")
    sp = s.get("spread")
    if sp and sp.get("levene"):
        lv = sp["levene"]
        lines += [f"Spread over seeds, all methods' representative groups: Brown–Forsythe F = {lv['f']:.3g} "
                  f"({lv['df1']}, {lv['df2']}), p = {pval(lv['p'])}.", ""]
    eq = s.get("equipartition") or []
    if eq:
        lines += ["| method | thermostat group | integrator | replicas | ⟨T_kin⟩/τ, mean [95% CI] |", "|---|---|---|---|---|"]
        for e in eq:
            lines.append(f"| {e['method']} | {e['name']} | {e['integrator']} | {e['replicas']} | {ci(e['ratio'], 3)} |")
        lines.append("")
    sf = small_fractions(rep)
    if sf:
        lines += [sf, ""]
    for lad in s.get("ladders") or []:
        lines += [f"Ladder, {lad['method']} ({', '.join(f'{k}={v}' for k, v in lad['fixed'].items())}):", "",
                  "| τ | done | test acc, mean [95% CI] | best.val_loss, mean [95% CI] | P(best) |", "|---|---|---|---|---|"]
        for p in lad["points"]:
            lines.append(f"| {p['tau']:g} | {p['status']['done']}/{p['status']['total']} | {ci(p['test_acc'])} "
                         f"| {ci(p['metric'])} | {fmt(p.get('p_best'), 3)} |")
        lines.append("")
    return "\n".join(lines)


def times_table(out):
    """The wall time of every sweep in OUT/times.tsv, one row per study name, in the order run."""
    rows = {}
    with open(os.path.join(out, "times.tsv")) as f:
        next(f, None)
        for line in f:
            n, step, sec, rc = line.rstrip("\n").split("\t")
            rows.setdefault(n, {})[step] = int(sec)
    lines = ["| sweep | tuning run, s | final run, s | report, s | total, min |", "|---|---|---|---|---|"]
    total = 0
    for n, t in rows.items():
        sub = sum(t.values())
        total += sub
        lines.append(f"| {n} | {t.get('tune-run', '–')} | {t.get('final-run', '–')} | {t.get('report', '–')} "
                     f"| {sub / 60:.1f} |")
    lines.append(f"| **all** | | | | **{total / 60:.1f}** |")
    return "\n".join(lines)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: tables.py OUT [NAME ...] | tables.py OUT --times")
    out = sys.argv[1]
    names = sys.argv[2:]
    if names == ["--times"]:
        print(times_table(out))
        return
    if not names:
        names = sorted(f[:-len("-final.yaml")] for f in os.listdir(out) if f.endswith("-final.yaml"))
    for name in names:
        if not os.path.exists(os.path.join(out, name + "-final", "report", "summary.json")):
            print(f"### {name}\n\nnot run yet\n")
            continue
        print(section(out, name))


if __name__ == "__main__":
    main()
