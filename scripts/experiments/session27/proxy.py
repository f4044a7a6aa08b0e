"""Similarity alone: each held-out labelled training question against each
entry's title and symptoms (best cosine); share with the right entry first.
Usage: proxy.py TABLE_DIR [TABLE_DIR ...] (a shipped table and a moved one)."""
import os, sys, glob, yaml, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, group_key, held_out, load_table
def table(d):
    token_ids,E=load_table(d)
    def emb(t):
        ids=token_ids(t)
        v=E[ids].mean(0) if ids else np.zeros(E.shape[1]); n=np.linalg.norm(v); return v/n if n else v
    return emb
ents=[]
for f in glob.glob(os.path.join(REPO,'knowledge','*.yaml')):
    d=yaml.safe_load(open(f))
    if isinstance(d,dict) and 'entries' in d:
        for e in d['entries']: ents.append((e['id'],[e['title']]+e.get('symptoms',[])))
TRAIN=os.path.join(REPO,'eval','real','train.yaml')
items=[it for it in yaml.safe_load(open(TRAIN)) if it.get('expect')]
hold=[it for it in items if held_out(group_key(TRAIN,it))]
print(len(items),len(hold))
for d in sys.argv[1:]:
    emb=table(d)
    P=[(eid,np.stack([emb(p) for p in ps])) for eid,ps in ents]
    for name,its in (('all train',items),('held-out groups',hold)):
        r=0
        for it in its:
            q=emb(it['query']); best=max(P,key=lambda x:(x[1]@q).max())[0]; r+=best in it['expect']
        print(d,name,'%.3f'%(r/len(its)))
