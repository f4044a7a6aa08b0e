"""Unlabelled domain texts for the static table's contextual distillation:
the knowledge base's texts and the training side's questions (and their
sentences). Never a frozen test split's text."""
import glob, json, os, sys, yaml
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, WORK, group_key, sentences
texts = []; groups = []
def add(t, g):
    t = t.strip()
    if len(t) >= 3: texts.append(t); groups.append(g)
files = [os.path.join(REPO, '..', 'shared', 'eval', 'dev.yaml')] + sorted(glob.glob(os.path.join(REPO, 'eval', '*.yaml'))) + [os.path.join(REPO, 'eval', 'real', 'train.yaml')]
for f in files:
    for it in yaml.safe_load(open(f)):
        q = it['query']; g = group_key(f, it)
        add(q, g)
        sents = [s for s in sentences(q) if len(s.split()) >= 3]
        if len(sents) > 1:
            for s in sents: add(s, g)
def walk(x, g):
    if isinstance(x, str): add(x, g)
    elif isinstance(x, list): [walk(y, g) for y in x]
    elif isinstance(x, dict): [walk(v, g) for k, v in x.items() if k not in ('id', 'docs', 'product', 'related', 'severity', 'fields')]
for f in glob.glob(os.path.join(REPO, 'knowledge', '*.yaml')):
    if f.endswith(('cues.yaml', 'synonyms.yaml')): continue
    walk(yaml.safe_load(open(f)), 'kb:' + f)
seen = set(); out = []
for t, g in zip(texts, groups):
    if t in seen: continue
    seen.add(t); out.append(dict(text=t[:3000], group=g))
json.dump(out, open(os.path.join(WORK, 'corpus.json'), 'w'))
print(len(out))
