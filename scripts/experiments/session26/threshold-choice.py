#!/usr/bin/env python3
"""How well each way of choosing the decision thresholds does on questions
it was not chosen on, from a `triage fit --out-of-fold` file alone (no
frozen split is read).

Usage: threshold-choice.py OOF.jsonl SEED REPEATS

Each repeat splits the labelled source groups in two at random, chooses
`answer_min`, `answer_margin` and `suggest_min` on one half and scores the
other half: the mean utility per question (as `triage fit` counts it), the
share of the real reports answered wrong, and how often that share passes
2 %. Methods: `argmax` (the best grid point that keeps every set within
the 2 % budget), `steady1` (what ships since session 20: each point worth
its utility averaged with its grid neighbours one step away, ruled out if
any breaks the budget) and `steady2` (two steps). It reads the decision
from the three shown probabilities alone, so the twin rule, which only
turns answers into suggestions for unnamed products, is left out.
"""
import json,numpy as np,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
p1=np.array([r['ranked'][0]['probability'] if r['ranked'] else 0 for r in rows])
p2=np.array([r['ranked'][1]['probability'] if len(r['ranked'])>1 else 0 for r in rows])
ins=np.array([bool(r['expect']) for r in rows])
r1=np.array([bool(r['ranked']) and r['ranked'][0]['id'] in r['expect'] for r in rows])
r3=np.array([any(x['id'] in r['expect'] for x in r['ranked'][:3]) for r in rows])
sets=sorted({r['set'] for r in rows}); setid=np.array([sets.index(r['set']) for r in rows])
groups=sorted({r['group'] for r in rows}); gid=np.array([groups.index(r['group']) for r in rows])
STEP=0.025; grid=np.round(np.arange(0,1,STEP),3)
def per_row(a,m,s):
    none=p1<s; ans=(~none)&(p1>=a)&((p1-p2)>=m); sug=(~none)&(~ans)
    u=np.where(ins, np.where(none,-1.0,np.where(ans,np.where(r1,1.0,-4.0),np.where(r3,0.4,-0.3))),
                    np.where(none,1.0,np.where(ans,-4.0,-1.0)))
    wrong=ans&(~(ins&r1))
    return u,wrong
def util(idx,a,m,s,w=None):
    if a<s: return -1e9
    u,wrong=per_row(a,m,s)
    u=u[idx]; wr=wrong[idx]; st=setid[idx]
    for k in range(len(sets)):
        sel=st==k
        if sel.sum() and wr[sel].sum()>0.02*sel.sum(): return -1e9
    return u.mean() if w is None else (u*w).sum()/w.sum()
def choose(idx,radius=1,boot=0,rng=None):
    if boot:
        gs=np.unique(gid[idx]); ws=[]
        for b in range(boot):
            pick=rng.choice(gs,len(gs)); cnt=np.bincount(pick,minlength=len(groups)); ws.append(cnt[gid[idx]].astype(float))
    def f(t):
        a,m,s=t
        if boot: return np.mean([util(idx,a,m,s,w) for w in ws])
        return util(idx,a,m,s)
    def steady(t):
        vals=[f(t)]
        if vals[0]<-1e8: return -1e9
        for d in range(3):
            for k in range(1,radius+1):
                for sg in (-1,1):
                    n=list(t); n[d]=float(np.clip(n[d]+sg*k*STEP,0,1)); v=f(n)
                    if v<-1e8: return -1e9
                    vals.append(v)
        return np.mean(vals)
    t=[0.5,0.0,0.5]; best=steady(t)
    if best<-1e8: t[0]=grid[-1]; best=steady(t)
    while True:
        before=best
        for d in (2,0,1):
            for x in grid:
                n=list(t); n[d]=float(x); v=steady(n) if radius>=0 else f(n)
                if v>best: best=v; t=n
        if best<=before: return t
rng=np.random.default_rng(int(sys.argv[2]) if len(sys.argv)>2 else 0)
methods={'argmax':dict(radius=0),'steady1':dict(radius=1),'steady2':dict(radius=2)}
res={k:[] for k in methods}; chosen={k:[] for k in methods}; wr={k:[] for k in methods}
real=np.array([r['set']=='real/train' for r in rows])
for rep in range(int(sys.argv[3]) if len(sys.argv)>3 else 6):
    perm=rng.permutation(len(groups)); half=set(perm[:len(groups)//2])
    A=np.array([g in half for g in gid]); fit=np.where(A)[0]; test=np.where(~A)[0]
    for k,kw in methods.items():
        t=choose(fit,**kw)
        u,w=per_row(*t); res[k].append(u[test].mean()); chosen[k].append(tuple(round(float(x),3) for x in t)); tr=test[real[test]]; wr[k].append(w[tr].mean())
for k in methods:
    sm=[c[2] for c in chosen[k]]; print(k, 'suggest_min 10/50/90 %', np.percentile(sm,[10,50,90]))
    print(k, 'held-out utility %.4f  real wrong %.4f  over-2%% %.2f'%(np.mean(res[k]),np.mean(wr[k]),np.mean(np.array(wr[k])>0.02)), chosen[k][:4])
