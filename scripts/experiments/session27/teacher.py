"""all-mpnet-base-v2 (a local directory, as scripts/fetch-transformer puts it)
embeds every corpus text as sentence-transformers does: mean pooling,
normalised, 256 tokens at most. About 14 minutes on two cores."""
import json, os, sys, time
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import WORK
from transformers import AutoTokenizer, AutoModel
torch.set_num_threads(2)
D = sys.argv[1] if len(sys.argv) > 1 else 'models/all-mpnet-base-v2'
tok=AutoTokenizer.from_pretrained(D); m=AutoModel.from_pretrained(D).eval()
C=json.load(open(os.path.join(WORK, 'corpus.json'))); texts=[c['text'] for c in C]
order=sorted(range(len(texts)),key=lambda i:len(texts[i]))
out=np.zeros((len(texts),768),dtype=np.float32); t0=time.time()
B=32
with torch.inference_mode():
    for b in range(0,len(order),B):
        idx=order[b:b+B]
        enc=tok([texts[i] for i in idx],padding=True,truncation=True,max_length=256,return_tensors='pt')
        h=m(**enc).last_hidden_state; a=enc['attention_mask'].unsqueeze(-1).float()
        e=(h*a).sum(1)/a.sum(1); e=torch.nn.functional.normalize(e,dim=-1)
        out[idx]=e.numpy()
        if b%(B*50)==0: print(b,time.time()-t0,flush=True)
np.save(os.path.join(WORK, 'teacher.npy'),out); print('done',time.time()-t0)
