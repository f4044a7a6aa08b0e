"""Writes the frozen splits' questions (test_q.jsonl, for `triage match
--jsonl`) and their labels (test_meta.jsonl) into DIR.

    python3 prepare.py DIR     # from the repository's root
"""
import glob
import json
import sys

import yaml

out = sys.argv[1]
with open(f"{out}/test_q.jsonl", "w") as q, open(f"{out}/test_meta.jsonl", "w") as meta:
    for f in sorted(glob.glob("eval/real/test*.yaml")):
        for n, i in enumerate(yaml.safe_load(open(f))):
            q.write(json.dumps({"query": i["query"], "product": i.get("product")}) + "\n")
            meta.write(json.dumps({"file": f, "n": n, "expect": i.get("expect") or [],
                                   "lang": i.get("lang", "en"), "product": i.get("product")}) + "\n")
