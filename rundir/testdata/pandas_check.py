#!/usr/bin/python3
"""Read a run directory's replicas.csv with pandas and check it against sweep.json.

Usage: pandas_check.py RUN_DIR

replicas.csv is read with pd.read_csv(path) and no options, the way a user
reads it. The checks:

- one row per replica of sweep.json, in sweep order, with the same ids,
  indexes, groups and seeds;
- the fixed columns (docs/formats.md) are present in order, with the settings
  columns between "group" and "seed": one per settings key used by any
  replica, sorted, named as the key unless a fixed column has that name
  (then "setting_" is prefixed);
- every replica's settings value is in its column (compared as numbers when
  both sides are numbers, since pandas parses "0.0001" as a float), and a
  replica without the key has an empty cell (NaN);
- no column pandas had to invent ("Unnamed: ..."): the header and every row
  have the same number of cells.

Exit status 0 when every check passes, 1 with a one-line reason otherwise.
"""

import json
import math
import os
import sys

import pandas as pd

METRICS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
HEAD = ["id", "index", "group"]
TAIL = ["seed", "status", "error_code", "attempts", "steps", "diverged_at"]
METRIC_COLUMNS = ["final_" + m for m in METRICS] + ["best_step"] + ["best_" + m for m in METRICS]


def fail(msg):
    print("pandas_check: FAIL: " + msg)
    sys.exit(1)


def setting_columns(keys):
    taken = set(HEAD + TAIL + METRIC_COLUMNS)
    out = {}
    for k in sorted(keys):
        c = k
        while c in taken:
            c = "setting_" + c
        taken.add(c)
        out[k] = c
    return out


def same(want, got):
    """want is the settings string of sweep.json, got what pandas parsed."""
    if isinstance(got, float) and math.isnan(got):
        return False
    try:
        return math.isclose(float(want), float(got), rel_tol=1e-15, abs_tol=0.0)
    except (TypeError, ValueError):
        return str(got) == want


def main():
    if len(sys.argv) != 2:
        fail("usage: pandas_check.py RUN_DIR")
    run = sys.argv[1]
    with open(os.path.join(run, "sweep.json")) as f:
        sweep = json.load(f)
    replicas = sweep["replicas"]
    df = pd.read_csv(os.path.join(run, "replicas.csv"))

    if len(df) != len(replicas):
        fail("%d rows, sweep.json has %d replicas" % (len(df), len(replicas)))
    cols = list(df.columns)
    unnamed = [c for c in cols if str(c).startswith("Unnamed")]
    if unnamed:
        fail("pandas invented columns %s: the header and the rows differ in length" % unnamed)
    keys = set()
    for r in replicas:
        keys.update(r.get("settings", {}).keys())
    settings = setting_columns(keys)
    want_cols = HEAD + [settings[k] for k in sorted(keys)] + TAIL + METRIC_COLUMNS
    if cols != want_cols:
        fail("columns %s, want %s" % (cols, want_cols))

    for i, r in enumerate(replicas):
        row = df.iloc[i]
        if str(row["id"]) != r["id"]:
            fail("row %d: id %r, want %r" % (i, row["id"], r["id"]))
        if int(row["index"]) != r["index"]:
            fail("row %d (%s): index %r, want %r" % (i, r["id"], row["index"], r["index"]))
        if str(row["group"]) != r["group"]:
            fail("row %d (%s): group %r, want %r" % (i, r["id"], row["group"], r["group"]))
        if int(row["seed"]) != int(r["seed"]):
            fail("row %d (%s): seed %r, want %r" % (i, r["id"], row["seed"], r["seed"]))
        s = r.get("settings", {})
        for k, c in settings.items():
            got = row[c]
            if k not in s:
                if not pd.isna(got):
                    fail("row %d (%s): column %s holds %r for a setting the replica lacks" % (i, r["id"], c, got))
                continue
            if not same(s[k], got):
                fail("row %d (%s): column %s holds %r, want %r" % (i, r["id"], c, got, s[k]))
    print("pandas_check: OK: %d rows, %d columns, %d settings columns" % (len(df), len(cols), len(settings)))


if __name__ == "__main__":
    main()
