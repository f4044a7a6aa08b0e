"""Copies labelled files with chat decoration added to each question: an
@-mention before it or emoji shortcodes after it. Usage: deco.py OUTDIR FILE..."""
import sys, os, yaml, hashlib
HEADS = ["@support ", "@kenji ", "hey @mods ", ""]
TAILS = [" :sob:", " :pray:", " :pepe_cry: :pepe_cry:", " :thinking:", ""]
out = sys.argv[1]
for f in sys.argv[2:]:
    items = yaml.safe_load(open(f))
    for it in items:
        h = int(hashlib.sha1(it['query'].encode()).hexdigest(), 16)
        head, tail = HEADS[h % 4], TAILS[(h // 4) % 5]
        if not head and not tail:
            tail = " :sob:"
        it['query'] = head + it['query'].rstrip() + tail
    yaml.safe_dump(items, open(os.path.join(out, os.path.basename(f)), 'w'), allow_unicode=True, sort_keys=False)
