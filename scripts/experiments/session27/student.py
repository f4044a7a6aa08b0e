"""Contextual distillation of a shipped static table (MiniLM's by default): the table is moved
(a linear map for every token, plus a penalised change for the tokens
the corpus holds) so that a text's mean token vector points where
all-mpnet-base-v2 embeds the whole text. Targets are the teacher's
embeddings alone: no label is read.

Usage: [SRC=models/wordllama-l2] [KEEP=keep.json] student.py PENALTY OUT_DIR STEPS
(session 27: PENALTY 1e-5, STEPS 600; KEEP lists the corpus rows to use,
as fold-check.py writes it). Prints the held-out loss and how well pair
cosines on held-out texts follow the teacher's, before and after."""
import json, os, shutil, sys
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, WORK, held_out, load_table
from safetensors.numpy import save_file
torch.manual_seed(0); torch.set_num_threads(2)
SRC=os.environ.get('SRC',os.path.join(REPO,'models','minilm-m2v'))
lam=float(sys.argv[1]) if len(sys.argv)>1 else 1e-3
out_dir=sys.argv[2] if len(sys.argv)>2 else None
C=json.load(open(os.path.join(WORK,'corpus.json')))
T=np.load(os.path.join(WORK,'teacher.npy'))
if os.environ.get('KEEP'):
    kk=json.load(open(os.environ['KEEP'])); C=[C[i] for i in kk]; T=T[kk]
token_ids,E0=load_table(SRC)
ids=[token_ids(c['text']) for c in C]
keep=[k for k,x in enumerate(ids) if x]
hold=np.array([held_out(C[k]['group']) for k in keep])
ids=[ids[k] for k in keep]; T=T[keep]
# the teacher's space cut to 256 principal directions (not centred, so cosines keep their meaning)
_,_,Vt=np.linalg.svd(T[~hold],full_matrices=False); V=Vt[:256].T
Y=T@V; Y/=np.linalg.norm(Y,axis=1,keepdims=True)
flat=torch.tensor([i for x in ids for i in x]); offs=torch.tensor(np.cumsum([0]+[len(x) for x in ids[:-1]]))
E0t=torch.tensor(E0); Yt=torch.tensor(Y,dtype=torch.float32)
X0=torch.nn.functional.embedding_bag(flat,E0t,offs,mode='mean')
tr=torch.tensor(~hold); te=torch.tensor(hold)
# linear map by ridge on the training side
X=X0[tr]; A=torch.linalg.solve(X.T@X+1e-2*torch.eye(256)*X.pow(2).sum()/len(X), X.T@Yt[tr])
A=torch.nn.Parameter(A); D=torch.nn.Parameter(torch.zeros_like(E0t))
opt=torch.optim.Adam([A,D],lr=1e-3)
def moved(A,D):
    """Every corpus text's mean token vector in the moved table."""
    return X0@A+torch.nn.functional.embedding_bag(flat,D,offs,mode='mean')
def loss_on(mask):
    Z=moved(A,D)
    c=torch.nn.functional.cosine_similarity(Z[mask],Yt[mask]); return 1-c.mean()
with torch.no_grad(): print('start train %.4f hold %.4f'%(loss_on(tr),loss_on(te)))
best=(9,None)
for step in range(int(sys.argv[3]) if len(sys.argv)>3 else 400):
    opt.zero_grad(); l=loss_on(tr)+lam*D.pow(2).sum(1).mean()*1000; l.backward(); opt.step()
    if step%25==24:
        with torch.no_grad():
            h=loss_on(te).item(); print(step,'train %.4f hold %.4f'%(loss_on(tr).item(),h),flush=True)
            if h<best[0]: best=(h,(A.detach().clone(),D.detach().clone()))
A,D=best[1]; print('best hold',best[0])
# how well pair cosines follow the teacher's on held-out texts, before and after
def cos(Z): Z=Z/Z.norm(dim=1,keepdim=True); return Z@Z.T
with torch.no_grad():
    Z1=moved(A,D)
    h=te.nonzero().flatten()[:1500]
    iu=torch.triu_indices(len(h),len(h),1)
    t=cos(Yt[h])[iu[0],iu[1]].numpy(); a=cos(X0[h])[iu[0],iu[1]].numpy(); b=cos(Z1[h])[iu[0],iu[1]].numpy()
    print('pair-cosine correlation with the teacher, held out: table %.3f, moved %.3f'%(np.corrcoef(t,a)[0,1],np.corrcoef(t,b)[0,1]))
if out_dir:
    os.makedirs(out_dir,exist_ok=True)
    E=(E0t@A+D).numpy()
    q=np.clip(np.round(E/np.abs(E).max()*127),-127,127).astype(np.int8)
    save_file({'embeddings':q},out_dir+'/model.safetensors')
    for f in ('tokenizer.json','config.json'): shutil.copy(SRC+'/'+f,out_dir+'/'+f)
    print('wrote',out_dir)
