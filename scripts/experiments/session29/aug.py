"""Writes, for each labelled file, a copy of every question with words
that say nothing of the problem added (a greeting before, or a sign-off,
plea, name or emoji after), same labels and group. Usage: aug.py OUTDIR FILE..."""
import sys, os, yaml, hashlib
HEADS = ["hi all, ", "hey team! ", "hello, ", "good morning, ", "quick question: ", "not sure this is the right channel but ", "sorry to bother, ", "hey @support ", "ok so ", "hi there :wave: "]
TAILS = [" thanks!", " regards, Sam", " please advise", " urgent!!", " ty", " help appreciated :pray:", " -- Lucia", " any help?", " thx in advance, Tomasz", " 🙏", " kind regards", " lmk", " would appreciate a fix asap", " cheers"]
out = sys.argv[1]
for f in sys.argv[2:]:
    items = yaml.safe_load(open(f)) or []
    if isinstance(items, dict): items = items.get('items', items.get('questions', []))
    name = os.path.splitext(os.path.basename(f))[0]
    set_ = os.path.basename(os.path.dirname(os.path.abspath(f))) + "/" + name
    res = []
    for i, it in enumerate(items):
        h = int(hashlib.sha1(it['query'].encode()).hexdigest(), 16)
        q = it['query'].strip()
        if h % 3 == 0:
            q = HEADS[(h // 3) % len(HEADS)] + q
        elif h % 3 == 1:
            q = q + TAILS[(h // 3) % len(TAILS)]
        else:
            q = HEADS[(h // 3) % len(HEADS)] + q + TAILS[(h // 7) % len(TAILS)]
        c = dict(it); c['query'] = q
        if not c.get('group'):
            c['group'] = f"{set_}:none:{i // 10}" if not c.get('expect') else f"{set_}:" + "+".join(c['expect'])
        res.append(c)
    yaml.safe_dump(res, open(os.path.join(out, name + "-aug.yaml"), 'w'), allow_unicode=True, sort_keys=False)
    print(f, len(res))
