#!/usr/bin/env python3
"""An entry added since the last fit: is it found?

For each entry in turn, a copy of a knowledge directory gets that entry
under a new id (`<id>-new`, everywhere the YAML names it), so the fitted
parameters (classifiers, prototypes, nearest questions) know nothing of
it, exactly as after an editor adds an entry. The labelled files are
matched with the copy through `triage match --jsonl`, the renamed entry's
questions expecting the new id, and the script sums, over all entries:

    n           questions expecting the renamed entry
    first       of them, shown with the renamed entry first
    answered    of them, answered with it
    in three    of them, with it among the first three shown
    drawn       other questions shown with the renamed entry first
    drawn ans.  other questions answered with it

and the mean utility per question (as `eval/score.py` counts it), beside
the same figures with the entry known (the directory as it is).

    python3 scripts/experiments/session28/added-entry.py BINARY KB FILE.yaml...

With `STANDIN=median|max|inscope` in the environment it passes
`TRIAGE_STANDIN` to a binary built with `standin.patch`, which chooses
what an entry unknown to a classifier gets (the median of the known
entries' log-probabilities, the largest, or the log of the entries'
probability as a whole). The build as it ships gives the last.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ANSWER_WRONG, SUGGEST_RIGHT, SUGGEST_WRONG = -4.0, 0.4, -0.3


def entry_ids(kb):
    ids = []
    for path in sorted(glob.glob(os.path.join(kb, "*.yaml"))):
        doc = yaml.safe_load(open(path))
        if isinstance(doc, dict) and "entries" in doc:
            ids += [e["id"] for e in doc["entries"]]
    return ids


def match(binary, kb, items):
    lines = "".join(json.dumps({"query": i["query"], "product": i.get("product")}) + "\n" for i in items)
    env = dict(os.environ, TRIAGE_MODEL=os.environ.get("TRIAGE_MODEL", "shipped"))
    if os.environ.get("STANDIN"):
        env["TRIAGE_STANDIN"] = os.environ["STANDIN"]
    out = subprocess.run([binary, "match", "--jsonl", "--kb", kb], input=lines,
                         capture_output=True, text=True, env=env, check=True).stdout
    return [(r["decision"], [x["id"] for x in r.get("results") or []]) for r in map(json.loads, out.splitlines())]


def utility(expect, decision, ids):
    if not expect:
        return {"none": 1.0, "suggest": -1.0, "answer": ANSWER_WRONG}[decision]
    if decision == "none":
        return -1.0
    if decision == "answer":
        return 1.0 if ids[0] in expect else ANSWER_WRONG
    return SUGGEST_RIGHT if any(i in expect for i in ids[:3]) else SUGGEST_WRONG


def figures(expects, outcomes, new):
    f = [0] * 6
    for expect, (d, ids) in zip(expects, outcomes):
        first = d != "none" and bool(ids) and ids[0] == new
        if new in expect:
            f[0] += 1
            f[1] += first
            f[2] += first and d == "answer"
            f[3] += d != "none" and new in ids[:3]
        else:
            f[4] += first
            f[5] += first and d == "answer"
    u = sum(utility(e, *o) for e, o in zip(expects, outcomes)) / len(expects)
    return f, u


def main():
    binary, kb, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    items = [it for path in files for it in yaml.safe_load(open(path))]
    known = match(binary, kb, items)
    totals = {"known": [[0] * 6, 0.0], "added": [[0] * 6, 0.0]}
    ids = entry_ids(kb)
    with tempfile.TemporaryDirectory() as tmp:
        for old in ids:
            new = old + "-new"
            copy = os.path.join(tmp, "kb")
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(kb, copy)
            name = re.compile(r"(?<![\w/-])" + re.escape(old) + r"(?![\w-])")
            for path in glob.glob(os.path.join(copy, "*.yaml")):
                text = open(path).read()
                open(path, "w").write(name.sub(new, text))
            expects = [[new if e == old else e for e in (it.get("expect") or [])] for it in items]
            as_known = [(d, [new if i == old else i for i in r]) for d, r in known]
            for key, outcomes in [("known", as_known), ("added", match(binary, copy, items))]:
                f, u = figures(expects, outcomes, new)
                totals[key][0] = [a + b for a, b in zip(totals[key][0], f)]
                totals[key][1] += u
            print(old, file=sys.stderr, flush=True)
    print(f"{'':8} {'n':>5} {'first':>6} {'answered':>9} {'in three':>9} {'drawn':>6} {'drawn ans.':>11}  utility")
    for key, (f, u) in totals.items():
        print(f"{key:8} {f[0]:5} {f[1]:6} {f[2]:9} {f[3]:9} {f[4]:6} {f[5]:11}  {u / len(ids):.4f}")


if __name__ == "__main__":
    main()
