"""Replays triage's decision rule on exported probabilities, to try other
ways of combining and thresholding them without rebuilding: the
thresholds are chosen as `fit/thresholds.rs` chooses them (coordinate
ascent on a 0.025 grid, each set worth its utility averaged with its
grid neighbours', a 2 % wrong-answer budget per labelled file), on
out-of-fold probabilities (`triage fit --out-of-fold`), and scored on
the frozen splits' probabilities (`triage match --jsonl` built with
all-results.patch, so refused questions keep their candidates). The
twin rule is left out; on the shipped tables the replay agrees with the
binary's decision on 1,437 of 1,450 frozen items.
"""
import json,os,random
STEP=0.025; GRID=[i*STEP for i in range(40)]
AW=-4.0; SR=0.4; SW=-0.3; BUDGET=0.02
def load_oof(path):
    rows=[json.loads(l) for l in open(path)]
    return [dict(set=r['set'],expect=r['expect'],p={x['id']:x['probability'] for x in r['ranked']}) for r in rows]
def load_test(path):
    meta=[json.loads(l) for l in open(os.path.join(os.path.dirname(path),'test_meta.jsonl'))]
    out=[json.loads(l) for l in open(path)]
    return [dict(set=m['file'],expect=m['expect'],lang=m['lang'],p={x['id']:x['score'] for x in r.get('results') or []}) for m,r in zip(meta,out)]
def mix(a,b,alpha=0.5):
    res=[]
    for x,y in zip(a,b):
        assert x['expect']==y['expect']
        keys=set(x['p'])|set(y['p'])
        p={k:alpha*y['p'].get(k,0)+(1-alpha)*x['p'].get(k,0) for k in keys}
        d=dict(x); d['p']=p; res.append(d)
    return res
def decide(w,p):
    order=sorted(p.items(),key=lambda kv:-kv[1])
    if not order: return 'none',None,[]
    p1=order[0][1]; p2=order[1][1] if len(order)>1 else 0
    ids=[k for k,_ in order]
    if p1<w['suggest_min']: return 'none',None,ids
    if p1>=w['answer_min'] and p1-p2>=w['answer_margin']: return 'answer',ids[0],ids
    return 'suggest',ids[0],ids
def answered_wrong(d,top,e):
    """An answer outright that is out of scope or names a wrong entry."""
    return d=='answer' and (not e or top not in e)
def worth(d,top,ids,e):
    """One decision's utility, as fit/thresholds.rs counts it."""
    if not e: return {'none':1,'suggest':-1,'answer':AW}[d]
    if d=='none': return -1
    if d=='answer': return 1 if top in e else AW
    return SR if any(i in e for i in ids[:3]) else SW
def util(w,items,budget=True):
    if w['answer_min']<w['suggest_min']: return None
    u=0; wrong={}; n={}
    for it in items:
        d,top,ids=decide(w,it['p']); e=it['expect']
        n[it['set']]=n.get(it['set'],0)+1
        if answered_wrong(d,top,e): wrong[it['set']]=wrong.get(it['set'],0)+1
        u+=worth(d,top,ids,e)
    if budget and any(wrong[s]>BUDGET*n[s] for s in wrong): return None
    return u
KEYS=['suggest_min','answer_min','answer_margin']
def steady(w,items):
    t=util(w,items)
    if t is None: return None
    pts=1
    for k in KEYS:
        for d in (-STEP,STEP):
            v=dict(w); v[k]=min(max(v[k]+d,0),1)
            u=util(v,items)
            if u is None: return None
            t+=u; pts+=1
    return t/pts
def choose(items):
    w=dict(answer_min=0.5,answer_margin=0.0,suggest_min=0.5)
    if util(w,items) is None: w['answer_min']=GRID[-1]
    best=steady(w,items)
    while True:
        before=best
        for k in KEYS:
            for x in GRID:
                t=dict(w); t[k]=x; u=steady(t,items)
                if u is not None and (best is None or u>best): best=u; w=t
        if best==before: return w
def score(w,items):
    n=len(items); ins=[i for i in items if i['expect']]; oos=[i for i in items if not i['expect']]
    top1=ansok=cw=ab=fn=0; u=0
    per=[]
    for it in items:
        d,top,ids=decide(w,it['p']); e=it['expect']
        if e:
            if d!='none' and ids and ids[0] in e: top1+=1
            if d=='answer' and top in e: ansok+=1
            if d=='none': fn+=1
        else:
            if d=='none': ab+=1
        if answered_wrong(d,top,e): cw+=1
        per.append(worth(d,top,ids,e))
    return dict(top1=round(top1/len(ins),3),ansok=round(ansok/len(ins),3),cw=round(cw/n,3),abst=round(ab/len(oos),3),fnone=round(fn/len(ins),3),util=round(sum(per)/n,3)),per
def paired(a,b,draws=2000):
    random.seed(1); n=len(a); d=[y-x for x,y in zip(a,b)]
    m=sum(d)/n; bs=[]
    for _ in range(draws):
        s=[d[random.randrange(n)] for _ in range(n)]; bs.append(sum(s)/n)
    bs.sort(); return round(m,3),round(bs[int(0.025*draws)],3),round(bs[int(0.975*draws)],3)
