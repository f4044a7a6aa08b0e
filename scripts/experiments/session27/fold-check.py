#!/usr/bin/env python3
"""Whether the moved table's gain is honest. The table is moved on every
labelled training question's text (no label), so under `triage fit`'s
cross-validation a question's embedding comes from a table that saw it.

    fold-check.py exclude K OOF.jsonl        writes WORK/keepK.json: the corpus rows
                                             without fold K's questions (or their sentences)
    fold-check.py compare K OOF.jsonl ...    fold K's out-of-fold figures in each file

Move a table with KEEP=WORK/keepK.json, build, refit with --out-of-fold,
and compare fold K under the shipped table, the table moved on all
texts, and the one that never saw fold K. From the first three entries
an out-of-fold line keeps: the share of in-scope questions whose first
entry is right, and the mean log of the right outcome's probability
(none's taken as one less the three shown), floored at 1e-6.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import WORK, fnv1a64, sentences  # noqa: E402

FOLDS = 5


def in_fold(row, k):
    return fnv1a64(row["group"]) % FOLDS == k


def exclude(k, oof):
    held = set()
    for line in open(oof):
        r = json.loads(line)
        if in_fold(r, k):
            q = r["query"].strip()
            held.add(q)
            held.update(sentences(q))
    corpus = json.load(open(os.path.join(WORK, "corpus.json")))
    keep = [i for i, c in enumerate(corpus) if c["text"] not in held]
    json.dump(keep, open(os.path.join(WORK, f"keep{k}.json"), "w"))
    print(f"{len(keep)} of {len(corpus)} corpus rows kept")


def compare(k, paths):
    for path in paths:
        n = ll = first = in_scope = 0
        real = [0, 0.0, 0, 0]
        for line in open(path):
            r = json.loads(line)
            if not in_fold(r, k):
                continue
            e = r["expect"]
            p = {x["id"]: x["probability"] for x in r["ranked"]}
            right = sum(v for i, v in p.items() if i in e) if e else 1 - sum(p.values())
            lp = math.log(min(max(right, 1e-6), 1))
            first_right = bool(r["ranked"]) and r["ranked"][0]["id"] in e
            n += 1
            ll += lp
            if e:
                in_scope += 1
                first += first_right
            if r["set"] == "real/train":
                real[0] += 1
                real[1] += lp
                if e:
                    real[2] += 1
                    real[3] += first_right
        print(
            f"{path}: {n} items, first {first / in_scope:.3f}, log-lik {ll / n:.4f}; "
            f"real reports {real[0]}, first {real[3] / real[2]:.3f}, log-lik {real[1] / real[0]:.4f}"
        )


if __name__ == "__main__":
    what, k = sys.argv[1], int(sys.argv[2])
    if what == "exclude":
        exclude(k, sys.argv[3])
    else:
        compare(k, sys.argv[3:])
