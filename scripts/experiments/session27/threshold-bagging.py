#!/usr/bin/env python3
"""Bagged thresholds: each threshold the median of what session 20's
choice (one grid step, `steady1`) picks on B bootstrap resamples of the
source groups, against one choice on all of them. Judged as
session 26's threshold-choice.py judges: the labelled source groups split
in half at random, thresholds chosen on one half, scored on the other,
from a `triage fit --out-of-fold` file alone.

Usage: threshold-bagging.py OOF.jsonl SEED REPEATS B
"""
import importlib.util
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "threshold_choice", os.path.join(HERE, "..", "session26", "threshold-choice.py")
)
tc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tc)
sim = tc.sim


def bagged(fit_groups, rows_of, rng, b):
    """The median of each threshold chosen on `b` resamples (with
    replacement) of `fit_groups`."""
    chosen = []
    for _ in range(b):
        pick = rng.choice(fit_groups, size=len(fit_groups), replace=True)
        rows = np.concatenate([rows_of[g] for g in pick])
        chosen.append(tc.choose(rows, 1))
    w = {k: float(np.median([c[k] for c in chosen])) for k in sim.KEYS}
    w["answer_min"] = max(w["answer_min"], w["suggest_min"])
    return w


if __name__ == "__main__":
    path, seed, repeats, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    tc.load(path)
    names = sorted(set(tc.groups))
    group_of = np.array([names.index(g) for g in tc.groups])
    rows_of = [np.where(group_of == g)[0] for g in range(len(names))]
    rng = np.random.default_rng(seed)
    held = {"steady1": [], "bagged": []}
    for _ in range(repeats):
        half = rng.permutation(len(names))[: len(names) // 2]
        inside = np.isin(group_of, half)
        fit, test = np.where(inside)[0], np.where(~inside)[0]
        real_test = test[tc.real[test]]
        for m in held:
            w = tc.choose(fit, 1) if m == "steady1" else bagged(half, rows_of, rng, b)
            worth, wrong = tc.outcome(w)
            held[m].append((w["suggest_min"], w["answer_min"], worth[test].mean(), wrong[real_test].mean()))
    for m, rows in held.items():
        suggest, answer, u, wrong = (np.array(c) for c in zip(*rows))
        print(
            f"{m:8} suggest_min 10/50/90 % {np.percentile(suggest, [10, 50, 90]).round(3)}"
            f"  answer_min {np.percentile(answer, [10, 50, 90]).round(3)}"
            f"  held-out utility {u.mean():.4f}  real reports wrong {wrong.mean():.4f}"
            f"  over 2 % {np.mean(wrong > sim.BUDGET):.2f}"
        )
    d = np.array([b_[2] - a[2] for a, b_ in zip(held["steady1"], held["bagged"])])
    print(f"bagged - steady1 utility {d.mean():+.4f} (sd over splits {d.std():.4f})")
