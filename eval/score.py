#!/usr/bin/env python3
"""Scores a matcher from outside, through `triage match --jsonl`, with the
columns the hidden sets are judged by: top-1, answered right, confidently
wrong (of all items), abstention, false abstention.

    python3 eval/score.py ./target/release/triage eval/real/test.yaml [more.yaml ...]
    python3 eval/score.py --kb OTHER_KB_DIR OTHER_BINARY eval/real/test.yaml
"""
import json
import subprocess
import sys

import yaml


def score(binary, path, kb):
    items = yaml.safe_load(open(path))
    lines = "".join(
        json.dumps({"query": i["query"], "product": i.get("product")}) + "\n" for i in items
    )
    cmd = [binary, "match", "--jsonl"] + (["--kb", kb] if kb else [])
    out = subprocess.run(cmd, input=lines, capture_output=True, text=True, check=True).stdout
    n = neg = top1 = ans_ok = wrong = abst = false_none = 0
    for item, line in zip(items, out.splitlines()):
        r = json.loads(line)
        expect = item.get("expect") or []
        top = r["results"][0]["id"] if r.get("results") else None
        n += 1
        if not expect:
            neg += 1
            abst += r["decision"] == "none"
            wrong += r["decision"] == "answer"
            continue
        if r["decision"] == "none":
            false_none += 1
            continue
        right = top in expect
        top1 += right
        if r["decision"] == "answer":
            ans_ok += right
            wrong += not right
    ins = n - neg
    f = lambda a, b: f"{a / b:.3f}" if b else "    -"
    return f"{n:>5} {neg:>4}  {f(top1, ins)}  {f(ans_ok, ins)}   {f(wrong, n)}     {f(abst, neg)}    {f(false_none, ins)}"


def main():
    args = sys.argv[1:]
    kb = None
    if args and args[0] == "--kb":
        kb, args = args[1], args[2:]
    binary, files = args[0], args[1:]
    print(f"{'set':<34} items  neg  top-1  ans-ok  conf-wrong  abstain  false-none")
    for path in files:
        print(f"{path:<34} {score(binary, path, kb)}")


if __name__ == "__main__":
    main()
