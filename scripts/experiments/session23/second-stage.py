"""A second-stage answerability model: a logistic regression on the
ranking (the first two probabilities and their gap, how many candidates
hold 5 %) and the question (its length, an HTTP status, a paste), fitted
on the out-of-fold probabilities (cross-fitted over source groups) to
predict "first entry right", which then replaces the first probability
before the thresholds are chosen. Scored on the frozen splits against
the probabilities as they are.

    python3 second-stage.py DIR      # needs numpy and scikit-learn
"""
import json
import math
import os
import re
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(__file__))
from sim import choose, load_oof, load_test, paired, score  # noqa: E402


def feats(p, q):
    order = sorted(p.values(), reverse=True) + [0, 0]
    p1, p2 = order[0], order[1]

    def logit(x):
        return math.log(max(x, 1e-4) / max(1 - x, 1e-4))

    return [logit(p1), logit(p2), logit(max(p1 - p2, 1e-4)), math.log1p(len(q.split())),
            1.0 if re.search(r"\b[45]\d\d\b", q) else 0.0, 1.0 if "`" in q or "\n" in q else 0.0,
            sum(1 for x in p.values() if x > 0.05)]


def build(items, queries):
    X, y = [], []
    for it, q in zip(items, queries):
        X.append(feats(it["p"], q))
        top = max(it["p"], key=it["p"].get) if it["p"] else None
        y.append(1 if it["expect"] and top in it["expect"] else 0)
    return np.array(X), np.array(y)


def recalibrate(items, qs):
    out = []
    for it, qv in zip(items, qs):
        if not it["p"]:
            out.append(it)
            continue
        top = max(it["p"], key=it["p"].get)
        s = it["p"][top]
        p = {k: (qv if k == top else v * (1 - qv) / max(1 - s, 1e-6)) for k, v in it["p"].items()}
        out.append(dict(it, p=p))
    return out


d = sys.argv[1]
tq = [json.loads(line)["query"] for line in open(f"{d}/test_q.jsonl")]
for name in ["T", "M"]:
    raw = [json.loads(line) for line in open(f"{d}/oof_{name}.jsonl")]
    oo, te = load_oof(f"{d}/oof_{name}.jsonl"), load_test(f"{d}/test_{name}.jsonl")
    X, y = build(oo, [r["query"] for r in raw])
    Xt, _ = build(te, tq)
    folds = np.array([sum(map(ord, r["group"])) % 5 for r in raw])
    q_oof = np.zeros(len(y))
    for k in range(5):
        lr = LogisticRegression(max_iter=1000).fit(X[folds != k], y[folds != k])
        q_oof[folds == k] = lr.predict_proba(X[folds == k])[:, 1]
    q_te = LogisticRegression(max_iter=1000).fit(X, y).predict_proba(Xt)[:, 1]
    w0 = choose(oo)
    s0, p0 = score(w0, te)
    w2 = choose(recalibrate(oo, q_oof))
    s2, p2 = score(w2, recalibrate(te, q_te))
    print(name, "as is", w0, s0)
    print(name, "second stage", w2, s2, "utility B - A", paired(p0, p2))
