"""Copies labelled files with a neutral tail appended to each question
(a sign-off, a time, a filler, a name): what a robust matcher's decision
should not depend on. Usage: noise.py OUTDIR FILE..."""
import sys, os, yaml, hashlib
TAILS = [" any ideas?", " thanks in advance", " - Marco", " since yesterday", " :sob:",
         " cheers, Priya", " pls help", " (posted this in general too)", " since this morning", " @kenji"]
out = sys.argv[1]
for f in sys.argv[2:]:
    items = yaml.safe_load(open(f))
    for it in items:
        h = int(hashlib.sha1(it['query'].encode()).hexdigest(), 16)
        it['query'] = it['query'].rstrip() + TAILS[h % len(TAILS)]
    yaml.safe_dump(items, open(os.path.join(out, os.path.basename(f)), 'w'), allow_unicode=True, sort_keys=False)
