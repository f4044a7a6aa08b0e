#!/usr/bin/env python3
"""Would a classifier over character n-grams add to the matcher's features?

The shipped word classifier reads a question's analysed words, so a typo
("widgt"), an inflection its stemmer does not know, or a pasted
identifier is a word it has never seen. This trains a multinomial
logistic regression over TF-IDF character n-grams (within words) on the
labelled questions, out of fold (the folds of the dumped rows, so a
question never sees its own fold or source), and writes each question's
log-probability of every entry and of out of scope, floored as the
shipped classifiers are (ln 1e-4). Then it cross-validates the linear
model of `nonlinear.py` with and without that log-probability as one more
entry feature (and its out-of-scope log-probability as one more question
feature).

    python3 scripts/experiments/session28/chargram.py ROWS.jsonl OOF.jsonl [C] [MIN,MAX]

ROWS.jsonl is what dump-rows.patch dumps, OOF.jsonl what the same fit
wrote with `--out-of-fold` (the questions' texts, in item order). C is
the inverse penalty (10), MIN,MAX the n-gram lengths (2,5).
"""
import json
import sys

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

import nonlinear

FLOOR = -9.21  # ln 1e-4, the shipped classifiers' floor


def out_of_fold_log_probs(rows, oof, c, ngrams):
    """Each dumped row's item: its log-probabilities over entries + out of scope."""
    entries = sorted({x["e"] for r in rows for x in r["c"] if not x["topic"]})
    classes = entries + ["OOS"]
    fold_of = {r["item"]: r["fold"] for r in rows}
    texts, labels, folds = [], [], []
    for i, o in enumerate(oof):
        for label in o["expect"] or ["OOS"]:
            texts.append(o["query"])
            labels.append(classes.index(label))
            folds.append(fold_of.get(i, -1))
    labels, folds = np.array(labels), np.array(folds)
    out = {}
    for k in range(nonlinear.FOLDS):
        train = np.where(folds != k)[0]
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, sublinear_tf=True, min_df=2, max_features=200_000)
        clf = LogisticRegression(C=c, max_iter=2000)
        clf.fit(vec.fit_transform([texts[j] for j in train]), labels[train])
        items = [r["item"] for r in rows if r["fold"] == k]
        lp = np.full((len(items), len(classes)), FLOOR)
        lp[:, clf.classes_] = np.maximum(clf.predict_log_proba(vec.transform([oof[i]["query"] for i in items])), FLOOR)
        out.update(zip(items, lp))
    return {c: i for i, c in enumerate(classes)}, out


def main():
    rows = [json.loads(line) for line in open(sys.argv[1])]
    oof = [json.loads(line) for line in open(sys.argv[2])]
    c = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    ngrams = tuple(int(a) for a in (sys.argv[4] if len(sys.argv) > 4 else "2,5").split(","))
    index, lp = out_of_fold_log_probs(rows, oof, c, ngrams)
    d = nonlinear.load(sys.argv[1])
    n, width, ne = d["x"].shape
    extra_x, extra_z = torch.full((n, width, 1), FLOOR), torch.zeros(n, 1)
    for i, r in enumerate(rows):
        p = lp[r["item"]]
        for j, cand in enumerate(r["c"]):
            extra_x[i, j, 0] = float(p[index["OOS"] if cand["topic"] else index[cand["e"]]])
        extra_z[i, 0] = float(p[index["OOS"]])
    x, z = torch.cat([d["x"], extra_x], -1), torch.cat([d["z"], extra_z], -1)
    nq = d["z"].shape[-1]
    torch.manual_seed(0)
    print("linear          ", nonlinear.cross_validate(d, lambda: nonlinear.Linear(ne, nq), d["x"], d["z"]))
    print("linear + n-grams", nonlinear.cross_validate(d, lambda: nonlinear.Linear(ne + 1, nq + 1), x, z))


if __name__ == "__main__":
    main()
