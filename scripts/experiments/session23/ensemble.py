"""The shipped tables and all-mpnet-base-v2 combined: their probabilities
averaged (arithmetic, with all-mpnet-base-v2's share ALPHA, and
geometric), thresholds chosen on the averaged out-of-fold probabilities;
and non-English questions (by their label) given to the tables. Each
scored on the frozen splits against all-mpnet-base-v2 alone, item by item.

    python3 ensemble.py DIR
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sim import choose, load_oof, load_test, mix, paired, score, util  # noqa: E402

d = sys.argv[1]
T, M = load_test(f"{d}/test_T.jsonl"), load_test(f"{d}/test_M.jsonl")
oT, oM = load_oof(f"{d}/oof_T.jsonl"), load_oof(f"{d}/oof_M.jsonl")
wM = choose(oM)
sM, pM = score(wM, M)
print("all-mpnet-base-v2 alone", wM, sM)
for alpha in [0.5, 0.65, 0.8]:
    oE, E = mix(oT, oM, alpha), mix(T, M, alpha)
    wE = choose(oE)
    sE, pE = score(wE, E)
    print(f"mean, share {alpha}", wE, "out of fold", round(util(wE, oE) / len(oE), 4))
    print("   ", sE, "utility B - A", paired(pM, pE))


def geo(a, b, eps=1e-3):
    out = []
    for x, y in zip(a, b):
        keys = set(x["p"]) | set(y["p"])
        p = {k: math.sqrt((x["p"].get(k, 0) + eps) * (y["p"].get(k, 0) + eps)) for k in keys}
        out.append(dict(x, p=p))
    return out


oE, E = geo(oT, oM), geo(T, M)
wE = choose(oE)
sE, pE = score(wE, E)
print("geometric mean", wE, sE, "utility B - A", paired(pM, pE))
wT = choose(oT)
_, pT = score(wT, T)
route = [pt if m["lang"] != "en" else pm for pt, pm, m in zip(pT, pM, M)]
print("non-English to the tables: utility B - A", paired(pM, route))
