#!/usr/bin/env python3
"""How well each way of choosing the decision thresholds does on questions
it was not chosen on, from a `triage fit --out-of-fold` file alone (no
frozen split is read).

Usage: threshold-choice.py OOF.jsonl SEED REPEATS

Each repeat splits the labelled source groups in two at random, chooses
`answer_min`, `answer_margin` and `suggest_min` on one half and scores the
other half: the mean utility per question (as `triage fit` counts it), the
share of the real reports answered wrong, and how often that share passes
2 %. Methods: `argmax` (the best grid point that keeps every set within
the 2 % budget), `steady1` (what ships since session 20: each point worth
its utility averaged with its grid neighbours one step away, ruled out if
any breaks the budget) and `steady2` (two steps).

The decision rule, the utility, the budget and the search are session
23's replay (`../session23/sim.py`), which leaves out the twin rule; each
set of thresholds' per-question outcomes is worked out once and reused by
every split.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "session23"))
import sim  # noqa: E402

items, groups, sets, set_of, real, outcomes = [], [], [], None, None, {}


def load(path):
    """Reads an out-of-fold file into this module's globals (so
    session 27's script can reuse the functions below)."""
    global items, groups, sets, set_of, real, outcomes
    items = sim.load_oof(path)
    groups = [json.loads(line)["group"] for line in open(path)]
    sets = sorted({it["set"] for it in items})
    set_of = np.array([sets.index(it["set"]) for it in items])
    real = np.array([it["set"] == "real/train" for it in items])
    outcomes = {}


def outcome(w):
    """Each question's utility and whether it is answered wrong, under `w`."""
    key = tuple(round(w[k], 3) for k in sim.KEYS)
    if key not in outcomes:
        worth, wrong = [], []
        for it in items:
            d, top, ids = sim.decide(w, it["p"])
            worth.append(sim.worth(d, top, ids, it["expect"]))
            wrong.append(sim.answered_wrong(d, top, it["expect"]))
        outcomes[key] = (np.array(worth), np.array(wrong))
    return outcomes[key]


def utility(w, rows):
    """Mean utility over `rows`, or None when `w` is not allowed there."""
    if w["answer_min"] < w["suggest_min"]:
        return None
    worth, wrong = outcome(w)
    for s in range(len(sets)):
        mine = rows[set_of[rows] == s]
        if len(mine) and wrong[mine].sum() > sim.BUDGET * len(mine):
            return None
    return worth[rows].mean()


def steady(w, rows, radius):
    """`utility` averaged with the grid points up to `radius` steps away
    along each threshold; None when any is not allowed."""
    values = [utility(w, rows)]
    for k in sim.KEYS:
        for step in range(1, radius + 1):
            for sign in (-1, 1):
                v = dict(w)
                v[k] = min(max(v[k] + sign * step * sim.STEP, 0), 1)
                values.append(utility(v, rows))
    return None if any(v is None for v in values) else float(np.mean(values))


def choose(rows, radius):
    """sim.choose's coordinate ascent, each point judged by `steady`."""
    w = dict(answer_min=0.5, answer_margin=0.0, suggest_min=0.5)
    if utility(w, rows) is None:
        w["answer_min"] = sim.GRID[-1]
    best = steady(w, rows, radius)
    while True:
        before = best
        for k in sim.KEYS:
            for x in sim.GRID:
                t = dict(w)
                t[k] = x
                u = steady(t, rows, radius)
                if u is not None and (best is None or u > best):
                    best, w = u, t
        if best == before:
            return w


if __name__ == "__main__":
    path, seed, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    load(path)
    names = sorted(set(groups))
    group_of = np.array([names.index(g) for g in groups])
    rng = np.random.default_rng(seed)
    methods = {"argmax": 0, "steady1": 1, "steady2": 2}
    held = {m: [] for m in methods}
    for _ in range(repeats):
        half = rng.permutation(len(names))[: len(names) // 2]
        inside = np.isin(group_of, half)
        fit, test = np.where(inside)[0], np.where(~inside)[0]
        for m, radius in methods.items():
            w = choose(fit, radius)
            worth, wrong = outcome(w)
            real_test = test[real[test]]
            held[m].append((w["suggest_min"], worth[test].mean(), wrong[real_test].mean()))
    for m in methods:
        suggest, u, wrong = (np.array(c) for c in zip(*held[m]))
        print(
            f"{m:8} suggest_min 10/50/90 % {np.percentile(suggest, [10, 50, 90]).round(3)}"
            f"  held-out utility {u.mean():.4f}  real reports wrong {wrong.mean():.4f}"
            f"  over 2 % {np.mean(wrong > sim.BUDGET):.2f}"
        )
