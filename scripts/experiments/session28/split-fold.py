#!/usr/bin/env python3
"""Split the labelled files `triage fit` read by one of its folds: the
fold's questions into OUT/heldout.yaml, the others into copies of the
files under OUT (dev.yaml under OUT/d/eval/, the rest under OUT/eval/,
so each keeps its set name). The folds come from the rows dump-rows.patch
wrote (each row has its item's index and fold), so they are the fit's.

    python3 scripts/experiments/session28/split-fold.py ROWS.jsonl FOLD OUT

Run from the repository's root with `E` as in the README (the files in
the order `triage fit` was given them: ../shared/eval/dev.yaml,
$E/*.yaml sorted, $E/real/train.yaml).
"""
import json
import os
import sys

import yaml


def main():
    rows, fold, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fold_of = {r["item"]: r["fold"] for r in map(json.loads, open(rows))}
    e = os.environ["E"]
    files = ["../shared/eval/dev.yaml"]
    files += sorted(os.path.join(e, f) for f in os.listdir(e) if f.endswith(".yaml"))
    files += [os.path.join(e, "real", "train.yaml")]
    i, held = 0, []
    for path in files:
        keep = []
        for item in yaml.safe_load(open(path)):
            (held if fold_of[i] == fold else keep).append(item)
            i += 1
        target = os.path.join(out, "d", "eval", "dev.yaml") if path.startswith("../shared/") \
            else os.path.join(out, "eval", os.path.relpath(path, e))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        yaml.safe_dump(keep, open(target, "w"), allow_unicode=True, sort_keys=False)
    yaml.safe_dump(held, open(os.path.join(out, "heldout.yaml"), "w"), allow_unicode=True, sort_keys=False)
    print(f"{i} questions, {len(held)} in fold {fold}")


if __name__ == "__main__":
    main()
