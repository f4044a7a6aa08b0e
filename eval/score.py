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

`--by-kind` adds pooled lines by kind of question: short (at most 20
words) or long, and by language (an item's `lang`, English when absent).

Two matchers on the same items differ by a few questions, which is often
less than chance moves a figure. `--items FILE` writes each item's outcome
(one JSON object per line); `--paired A B` reads two such files and prints
each column's difference, B - A, with a 95 % bootstrap interval over the
items (resampled together, so the interval is for the difference):

    TRIAGE_MODEL=shipped python3 eval/score.py --items /tmp/a.jsonl ./target/release/triage eval/real/test*.yaml
    TRIAGE_MODEL=shipped python3 eval/score.py --kb /tmp/kb2 --items /tmp/b.jsonl ./target/release/triage eval/real/test*.yaml
    python3 eval/score.py --paired /tmp/a.jsonl /tmp/b.jsonl

A refit changes the weights and the thresholds at once, and a threshold a
grid step higher can move the figures more than the weights do.
`--thresholds-of KB` scores `--kb` with its weights but the thresholds of
another knowledge directory (each parameter set's `answer_min`,
`answer_margin`, `suggest_min` and `twin_ratio`, in every `matcher*.json`
both hold), copied into a temporary directory, so a change to the
ranking is judged apart from a move of the thresholds:

    TRIAGE_MODEL=shipped python3 eval/score.py --kb /tmp/kb2 --thresholds-of knowledge --items /tmp/b0.jsonl ./target/release/triage eval/real/test*.yaml

`--calibration` adds, pooled, how often the entry shown first is right
against the probability the matcher gave it, in bins: whether the
probabilities can be taken at their word, and how many items are sure
enough to answer.

`--oof FILE` scores the cross-validated outcomes `triage fit
--out-of-fold FILE` wrote instead of matching (one line per labelled set),
and `--groups GROUPS.txt` keeps only the items of the source groups listed
there: with an adapter fitted without those groups (`scripts/fit-adapter.py
--hold-out GROUPS.txt`), the figures of questions neither the adapter nor
the fold saw.

    python3 eval/score.py --oof /tmp/oof.jsonl --groups /tmp/held.txt --items /tmp/c.jsonl
"""
import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import tempfile

import yaml

SHOWN = 3
ANSWER_WRONG = -4.0
SUGGEST_RIGHT = 0.4
SUGGEST_WRONG = -0.3
SHORT_WORDS = 20
BOOTSTRAP_DRAWS = 2000
CALIBRATION_BINS = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0]

COLUMNS = ["top-1", "ans-ok", "conf-wrong", "abstain", "false-none", "utility"]
THRESHOLDS = ["answer_min", "answer_margin", "suggest_min", "twin_ratio"]
PARAMETER_SETS = ["semantic", "lexical", "unlearned"]


def with_thresholds_of(kb, source, into):
    """A copy of knowledge directory `kb` in `into` whose fitted parameter
    sets carry the thresholds of `source`'s; its path."""
    out = os.path.join(into, "kb")
    shutil.copytree(kb, out)
    copied = 0
    for path in glob.glob(os.path.join(out, "matcher*.json")):
        theirs = os.path.join(source, os.path.basename(path))
        if not os.path.exists(theirs):
            continue
        with open(path) as f, open(theirs) as g:
            mine, ref = json.load(f), json.load(g)
        for name in PARAMETER_SETS:
            if mine.get(name) and ref.get(name):
                mine[name].update({t: ref[name][t] for t in THRESHOLDS})
        # Closed (and so flushed) before triage reads it.
        with open(path, "w") as f:
            json.dump(mine, f, indent=2)
        copied += 1
    if not copied:
        raise SystemExit(f"{kb} and {source} have no matcher*.json in common")
    return out


def outcomes(binary, path, kb):
    """Each item of one file, matched: its kind and what the matcher did."""
    items = yaml.safe_load(open(path))
    lines = "".join(
        json.dumps({"query": i["query"], "product": i.get("product")}) + "\n" for i in items
    )
    cmd = [binary, "match", "--jsonl"] + (["--kb", kb] if kb else [])
    out = subprocess.run(cmd, input=lines, capture_output=True, text=True, check=True).stdout
    return [
        outcome(path, n, item["query"], item.get("lang", "en"), item.get("expect") or [], r["decision"],
                [(x["id"], x["score"]) for x in r.get("results") or []])
        for n, (item, r) in enumerate(zip(items, map(json.loads, out.splitlines())))
    ]


def oof_outcomes(path, groups):
    """The items of a `triage fit --out-of-fold` file (only those of the
    listed source groups, if any), by labelled set, as `outcomes` gives them.
    fit does not record an item's language."""
    by_set = {}
    for n, r in enumerate(map(json.loads, open(path))):
        if groups is None or r.get("group") in groups:
            ranked = [(x["id"], x["probability"]) for x in r["ranked"]]
            row = outcome(r["set"], n, r["query"], None, r["expect"], r["decision"], ranked)
            by_set.setdefault(r["set"], []).append(row)
    return by_set


def outcome(file, n, query, lang, expect, decision, ranked):
    """One item's outcome: its kind, the decision, where the right entry
    was, and the probability of the entry shown first (`ranked` is the
    entries shown, in order, with their probabilities)."""
    ids = [i for i, _ in ranked]
    return {
        "file": file,
        "n": n,
        "query": query,
        "words": len(query.split()),
        "lang": lang,
        "in_scope": bool(expect),
        "decision": decision,
        "top": ids[0] if ids else None,
        "right": bool(ids) and ids[0] in expect,
        "shown": any(i in expect for i in ids[:SHOWN]),
        "p": ranked[0][1] if ranked else None,
    }


def utility(o):
    d = o["decision"]
    if not o["in_scope"]:
        return {"none": 1.0, "suggest": -1.0, "answer": ANSWER_WRONG}[d]
    if d == "none":
        return -1.0
    if d == "answer":
        return 1.0 if o["right"] else ANSWER_WRONG
    return SUGGEST_RIGHT if o["shown"] else SUGGEST_WRONG


def counts(rows):
    """Items, out of scope, top-1 right, answered right, answered wrong,
    abstained, false none, utility."""
    c = dict(n=0, neg=0, top1=0, ans_ok=0, wrong=0, abst=0, false_none=0, utility=0.0)
    for o in rows:
        d = o["decision"]
        c["n"] += 1
        c["utility"] += utility(o)
        if not o["in_scope"]:
            c["neg"] += 1
            c["abst"] += d == "none"
            c["wrong"] += d == "answer"
        elif d == "none":
            c["false_none"] += 1
        else:
            c["top1"] += o["right"]
            c["ans_ok"] += d == "answer" and o["right"]
            c["wrong"] += d == "answer" and not o["right"]
    return c


def figures(c):
    """The columns as fractions (None where a column has no items)."""
    ins = c["n"] - c["neg"]
    f = lambda a, b: a / b if b else None
    return [
        f(c["top1"], ins),
        f(c["ans_ok"], ins),
        f(c["wrong"], c["n"]),
        f(c["abst"], c["neg"]),
        f(c["false_none"], ins),
        f(c["utility"], c["n"]),
    ]


def row(rows):
    c = counts(rows)
    top1, ans, wrong, abst, false_none, util = (
        "    -" if x is None else f"{x:.{4 if i == 5 else 3}f}" for i, x in enumerate(figures(c))
    )
    return (
        f"{c['n']:>5} {c['neg']:>4}  {top1}  {ans}   {wrong}     {abst}    {false_none}      {util}"
    )


def calibration(rows):
    """For the items shown an entry, binned by the probability the matcher
    gave the entry it shows first: how often that entry is right. A
    matcher whose probabilities are calibrated is right about as often as
    it says; one that is also sharp puts most items in the top bins."""
    shown = [o for o in rows if o["decision"] != "none" and o.get("p") is not None]
    print(f"calibration, {len(shown)} items shown an entry:")
    print(f"{'probability':<12} {'items':>5} {'mean':>6} {'right':>6}")
    for lo, hi in zip(CALIBRATION_BINS, CALIBRATION_BINS[1:]):
        b = [o for o in shown if lo <= o["p"] < hi or (hi == 1.0 and o["p"] == 1.0)]
        if b:
            mean = sum(o["p"] for o in b) / len(b)
            right = sum(o["right"] for o in b) / len(b)
            print(f"{lo:.2f}-{hi:.2f}    {len(b):>5} {mean:6.3f} {right:6.3f}")


def paired(a_path, b_path):
    """Each column's difference between two `--items` files, with a 95 %
    bootstrap interval over the items they share."""
    load = lambda p: {(o["file"], o["n"], o["query"]): o for o in map(json.loads, open(p))}
    a, b = load(a_path), load(b_path)
    keys = sorted(a.keys() & b.keys())
    if len(keys) < max(len(a), len(b)):
        print(f"note: {len(keys)} items in both files ({len(a)} and {len(b)} in each)")
    if not keys:
        raise SystemExit("the two files share no item")
    pairs = [(a[k], b[k]) for k in keys]

    def diff(sample):
        fa = figures(counts([p[0] for p in sample]))
        fb = figures(counts([p[1] for p in sample]))
        return [None if x is None or y is None else y - x for x, y in zip(fa, fb)]

    rng = random.Random(0)
    draws = [diff(rng.choices(pairs, k=len(pairs))) for _ in range(BOOTSTRAP_DRAWS)]
    whole = diff(pairs)
    changed = sum(p[0]["decision"] != p[1]["decision"] or p[0]["top"] != p[1]["top"] for p in pairs)
    print(f"{len(pairs)} items; {changed} with another decision or first entry")
    print(f"{'column':<12} {'A':>8} {'B':>8} {'B - A':>8}   95 % interval")
    fa = figures(counts([p[0] for p in pairs]))
    fb = figures(counts([p[1] for p in pairs]))
    for i, name in enumerate(COLUMNS):
        if whole[i] is None:
            continue
        ds = sorted(d[i] for d in draws if d[i] is not None)
        lo, hi = ds[int(0.025 * len(ds))], ds[int(0.975 * len(ds)) - 1]
        print(f"{name:<12} {fa[i]:8.4f} {fb[i]:8.4f} {whole[i]:+8.4f}   [{lo:+.4f}, {hi:+.4f}]")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kb", help="the knowledge directory to match with")
    p.add_argument("--items", help="write each item's outcome here, one JSON object per line")
    p.add_argument("--by-kind", action="store_true", help="pooled lines by length and language")
    p.add_argument("--calibration", action="store_true", help="pooled: how often the entry shown first is right, by its probability")
    p.add_argument("--paired", nargs=2, metavar=("A", "B"), help="compare two --items files")
    p.add_argument("--oof", help="score a `triage fit --out-of-fold` file instead of matching")
    p.add_argument("--groups", help="with --oof: only the source groups listed in this file")
    p.add_argument("--thresholds-of", metavar="KB", help="match with --kb's weights and this knowledge directory's thresholds")
    p.add_argument("binary", nargs="?")
    p.add_argument("files", nargs="*")
    args = p.parse_args()
    if args.paired:
        paired(*args.paired)
        return
    if args.oof and args.thresholds_of:
        p.error("--thresholds-of matches with a knowledge directory; --oof scores outcomes already decided")
    if args.oof:
        groups = set(open(args.groups).read().split("\n")) - {""} if args.groups else None
        sets = oof_outcomes(args.oof, groups)
        if not sets:
            raise SystemExit(f"{args.oof}: no item of the listed groups")
    elif not args.binary or not args.files:
        p.error("a triage binary and at least one labelled file (or --oof) are needed")
    elif args.thresholds_of:
        with tempfile.TemporaryDirectory() as tmp:
            kb = with_thresholds_of(args.kb or "knowledge", args.thresholds_of, tmp)
            sets = {path: outcomes(args.binary, path, kb) for path in args.files}
    else:
        sets = {path: outcomes(args.binary, path, args.kb) for path in args.files}
    print(f"{'set':<34} items  neg  top-1  ans-ok  conf-wrong  abstain  false-none  utility")
    pooled = []
    for path, rows in sets.items():
        print(f"{path:<34} {row(rows)}")
        pooled += rows
    if len(sets) > 1:
        print(f"{'pooled':<34} {row(pooled)}")
    if args.by_kind:
        kinds = {
            f"short (<= {SHORT_WORDS} words)": lambda o: o["words"] <= SHORT_WORDS,
            f"long (> {SHORT_WORDS} words)": lambda o: o["words"] > SHORT_WORDS,
        }
        for lang in sorted({o["lang"] for o in pooled} - {None}):
            kinds[f"lang {lang}"] = lambda o, lang=lang: o["lang"] == lang
        for name, keep in kinds.items():
            rows = [o for o in pooled if keep(o)]
            if rows:
                print(f"{name:<34} {row(rows)}")
    if args.calibration:
        calibration(pooled)
    if args.items:
        with open(args.items, "w") as f:
            for o in pooled:
                f.write(json.dumps(o, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
