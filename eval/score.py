#!/usr/bin/env python3
"""Scores a matcher from outside, through `triage match --jsonl`, with the
columns the hidden sets are judged by: top-1, answered right, confidently
wrong (of all items), abstention, false abstention; and the utility per
question that `triage fit` maximises (+1 a right answer, -4 a wrong one,
+1 `none` out of scope, -1 a suggestion out of scope or `none` in scope,
+0.4 / -0.3 a suggestion with / without a right entry in its first three).
With more than one file, a last line pools them all.

    python3 eval/score.py ./target/release/triage eval/real/test.yaml [more.yaml ...]
    python3 eval/score.py --kb OTHER_KB_DIR OTHER_BINARY eval/real/test.yaml
    TRIAGE_MODEL=shipped python3 eval/score.py ./target/release/triage eval/real/test*.yaml
"""
import json
import subprocess
import sys

import yaml

SHOWN = 3
ANSWER_WRONG = -4.0
SUGGEST_RIGHT = 0.4
SUGGEST_WRONG = -0.3


def tally(binary, path, kb):
    """Counts of one file: items, out of scope, top-1 right, answered
    right, answered wrong, abstained, false none, utility."""
    items = yaml.safe_load(open(path))
    lines = "".join(
        json.dumps({"query": i["query"], "product": i.get("product")}) + "\n" for i in items
    )
    cmd = [binary, "match", "--jsonl"] + (["--kb", kb] if kb else [])
    out = subprocess.run(cmd, input=lines, capture_output=True, text=True, check=True).stdout
    c = dict(n=0, neg=0, top1=0, ans_ok=0, wrong=0, abst=0, false_none=0, utility=0.0)
    for item, line in zip(items, out.splitlines()):
        r = json.loads(line)
        expect = item.get("expect") or []
        ids = [x["id"] for x in r.get("results") or []]
        top = ids[0] if ids else None
        d = r["decision"]
        c["n"] += 1
        if not expect:
            c["neg"] += 1
            c["abst"] += d == "none"
            c["wrong"] += d == "answer"
            c["utility"] += {"none": 1.0, "suggest": -1.0, "answer": ANSWER_WRONG}[d]
            continue
        if d == "none":
            c["false_none"] += 1
            c["utility"] -= 1.0
            continue
        right = top in expect
        c["top1"] += right
        if d == "answer":
            c["ans_ok"] += right
            c["wrong"] += not right
            c["utility"] += 1.0 if right else ANSWER_WRONG
        else:
            shown = any(i in expect for i in ids[:SHOWN])
            c["utility"] += SUGGEST_RIGHT if shown else SUGGEST_WRONG
    return c


def row(c):
    ins = c["n"] - c["neg"]
    f = lambda a, b: f"{a / b:.3f}" if b else "    -"
    return (
        f"{c['n']:>5} {c['neg']:>4}  {f(c['top1'], ins)}  {f(c['ans_ok'], ins)}   "
        f"{f(c['wrong'], c['n'])}     {f(c['abst'], c['neg'])}    {f(c['false_none'], ins)}"
        f"      {c['utility'] / c['n']:.4f}"
    )


def main():
    args = sys.argv[1:]
    kb = None
    if args and args[0] == "--kb":
        kb, args = args[1], args[2:]
    binary, files = args[0], args[1:]
    print(f"{'set':<34} items  neg  top-1  ans-ok  conf-wrong  abstain  false-none  utility")
    pooled = None
    for path in files:
        c = tally(binary, path, kb)
        print(f"{path:<34} {row(c)}")
        pooled = c if pooled is None else {k: pooled[k] + c[k] for k in c}
    if len(files) > 1:
        print(f"{'pooled':<34} {row(pooled)}")


if __name__ == "__main__":
    main()
