#!/usr/bin/env python3
"""Fits a knowledge base's adapter for a sentence transformer: a low-rank
change (LoRA) to the last layers of the network, learned from the labelled
questions so that questions about one entry embed closer together and
farther from other entries' and from out-of-scope questions. triage adds
it to the weights as the network is built (src/matcher/semantic/adapter.rs)
when the knowledge base holds `adapter.<model>.safetensors`.

    python3 scripts/fit-adapter.py MODEL_DIR OUT.safetensors FILE.yaml...
            [--check] [--layers N]

FILEs are labelled question sets (`query`, `expect`: entry ids, [] for
out of scope; `group`: the source, else the file). Each question is
labelled with its first expected entry or "out of scope", and a cosine
softmax head over those labels is trained with the adapter, then dropped.
The layers below the adapted ones run once over each question's first
128 tokens (no gradient), their states kept; only the last layers are
trained. Deterministic for a given machine: seeded, and run on
two threads.

--hold-out GROUPS.txt leaves a fifth of the labelled source groups (items
with a `group`, drawn as --check draws from all groups) out of the
fit and writes their names there, one per line. The adapter is then
judged end to end on questions it never saw: `triage fit --out-of-fold`
with it in a knowledge-base copy, scored on those groups alone by
`eval/score.py --oof OOF.jsonl --groups GROUPS.txt`.

--layers: how many of the network's last layers are adapted (default 4).

--check first holds out a fifth of the source groups, fits on the rest,
and prints how well a logistic regression on the embeddings (of the
first 128 tokens) labels the held-out questions with the model alone and
with the adapter; then fits on everything as usual.

After a refit, `triage fit --write` must refit the matcher's parameters
with the adapter in the knowledge base (the model's fingerprint includes
the adapter's), and the reference numbers this prints go into
tests/transformer.rs's adapter test.

Needs torch, transformers, safetensors and (for --check) scikit-learn.
"""
import argparse
import math
import os
import random
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer

ADAPTED_LAYERS = 4  # of all-mpnet-base-v2's 12, the last ones
RANK = 16
EPOCHS = 3
LEARNING_RATE = 5e-4
HEAD_LEARNING_RATE = 1e-3
SCALE = 20.0  # the cosine head's temperature
BATCH = 32
TRAIN_TOKENS = 128
MAX_TOKENS = 384
REFERENCE_TEXTS = [
    "the chat bubble never shows up",
    "Calls drop after a minute when the agent answers, any idea why? We use Chrome on Windows and the office network is behind a corporate firewall.",
]


def load(files):
    items = []
    for f in files:
        for it in yaml.safe_load(open(f)) or []:
            items.append(
                dict(
                    q=it["query"],
                    label=(it.get("expect") or ["out of scope"])[0],
                    group=it.get("group") or os.path.basename(f),
                    source=bool(it.get("group")),
                )
            )
    return items


def additive(mask):
    return (1.0 - mask[:, None, None, :].float()) * -1e9


class LoRA(nn.Module):
    def __init__(self, base, rank):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x):
        return self.base(x) + (x @ self.A.t()) @ self.B.t()


def adapted_linears(layer):
    attn = layer.attention.attn
    return [
        (attn, "q", "attention.attn.q"),
        (attn, "k", "attention.attn.k"),
        (attn, "v", "attention.attn.v"),
        (attn, "o", "attention.attn.o"),
        (layer.intermediate, "dense", "intermediate.dense"),
        (layer.output, "dense", "output.dense"),
    ]


class Network:
    def __init__(self, model_dir, adapted_layers):
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval()
        if self.model.config.model_type != "mpnet":
            sys.exit("fit-adapter: only MPNet models (all-mpnet-base-v2) are supported")
        for p in self.model.parameters():
            p.requires_grad = False
        self.first_adapted = len(self.model.encoder.layer) - adapted_layers
        self.lower = self.model.encoder.layer[: self.first_adapted]
        self.upper = self.model.encoder.layer[self.first_adapted :]

    def lower_states(self, texts, max_tokens):
        """Each text's states after the unadapted layers, a row per token
        of its first `max_tokens`."""
        out = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.no_grad():
            for s in range(0, len(order), 16):
                idx = order[s : s + 16]
                enc = self.tok([texts[i] for i in idx], padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
                h = self.model.embeddings(input_ids=enc["input_ids"])
                mask = enc["attention_mask"]
                bias = self.model.encoder.compute_position_bias(h)
                for layer in self.lower:
                    h = layer(h, attention_mask=additive(mask), position_bias=bias)[0]
                for j, i in enumerate(idx):
                    out[i] = h[j, : int(mask[j].sum())].clone()
        return out

    def upper_pooled(self, states):
        n = max(s.shape[0] for s in states)
        h = torch.zeros(len(states), n, states[0].shape[1])
        mask = torch.zeros(len(states), n, dtype=torch.long)
        for j, s in enumerate(states):
            h[j, : s.shape[0]] = s
            mask[j, : s.shape[0]] = 1
        bias = self.model.encoder.compute_position_bias(h)
        for layer in self.upper:
            h = layer(h, attention_mask=additive(mask), position_bias=bias)[0]
        m = mask.unsqueeze(-1).float()
        return (h * m).sum(1) / m.sum(1)

    def embed(self, states):
        order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
        out = [None] * len(states)
        with torch.no_grad():
            for s in range(0, len(order), BATCH):
                idx = order[s : s + BATCH]
                e = F.normalize(self.upper_pooled([states[i] for i in idx]), dim=1)
                for j, i in enumerate(idx):
                    out[i] = e[j].numpy()
        return np.stack(out)

    def add_adapter(self):
        self.loras = []
        for layer in self.upper:
            for owner, attr, _ in adapted_linears(layer):
                lora = LoRA(getattr(owner, attr), RANK)
                setattr(owner, attr, lora)
                self.loras.append(lora)

    def drop_adapter(self):
        for layer in self.upper:
            for owner, attr, _ in adapted_linears(layer):
                if isinstance(getattr(owner, attr), LoRA):
                    setattr(owner, attr, getattr(owner, attr).base)

    def tensors(self):
        out = {}
        for i, layer in enumerate(self.upper):
            for owner, attr, name in adapted_linears(layer):
                lora = getattr(owner, attr)
                prefix = f"encoder.layer.{self.first_adapted + i}.{name}"
                out[f"{prefix}.lora_A"] = lora.A.detach().contiguous()
                out[f"{prefix}.lora_B"] = lora.B.detach().contiguous()
        return out


def fit(net, states, labels):
    """Trains a fresh adapter on `states` (lower layers' output) and their labels."""
    torch.manual_seed(0)
    rng = random.Random(0)
    net.add_adapter()
    classes = sorted(set(labels))
    y = torch.tensor([classes.index(l) for l in labels])
    with torch.no_grad():
        start = torch.tensor(net.embed(states))
    head = nn.Parameter(F.normalize(torch.stack([start[y == c].mean(0) for c in range(len(classes))]), dim=1))
    params = [p for lora in net.loras for p in (lora.A, lora.B)]
    opt = torch.optim.AdamW([{"params": params, "lr": LEARNING_RATE}, {"params": [head], "lr": HEAD_LEARNING_RATE}], weight_decay=0.01)
    steps = EPOCHS * math.ceil(len(states) / BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 20) * max(0.0, 1 - s / steps))
    for epoch in range(EPOCHS):
        net.upper.train()
        order = sorted(range(len(states)), key=lambda i: states[i].shape[0] + rng.random() * 40)
        batches = [order[s : s + BATCH] for s in range(0, len(order), BATCH)]
        rng.shuffle(batches)
        total = 0.0
        for b in batches:
            e = F.normalize(net.upper_pooled([states[i] for i in b]), dim=1)
            loss = F.cross_entropy(SCALE * e @ F.normalize(head, dim=1).t(), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"epoch {epoch + 1}/{EPOCHS}: loss {total / len(batches):.4f}", flush=True)
    net.upper.eval()


def a_fifth(groups):
    """A fifth of `groups`, the same ones for the same groups (seeded)."""
    groups = sorted(groups)
    random.Random(1).shuffle(groups)
    return set(groups[: len(groups) // 5])


def check(net, items, states):
    from sklearn.linear_model import LogisticRegression

    held = a_fifth({x["group"] for x in items})
    fit_ix = [i for i, x in enumerate(items) if x["group"] not in held]
    ev_ix = [i for i, x in enumerate(items) if x["group"] in held]
    labels = [x["label"] for x in items]

    def accuracy(E):
        clf = LogisticRegression(C=10, max_iter=2000).fit(E[fit_ix], [labels[i] for i in fit_ix])
        return np.mean(clf.predict(E[ev_ix]) == np.array([labels[i] for i in ev_ix]))

    before = accuracy(net.embed(states))
    fit(net, [states[i] for i in fit_ix], [labels[i] for i in fit_ix])
    after = accuracy(net.embed(states))
    net.drop_adapter()
    print(f"check: {len(ev_ix)} questions of {len(held)} held-out groups labelled right by a logistic regression on the embeddings: {before:.4f} with the model alone, {after:.4f} with the adapter", flush=True)


def hold_out(items, path):
    """The items outside a fifth of the source groups; those groups' names
    go to `path`."""
    held = a_fifth({x["group"] for x in items if x["source"]})
    with open(path, "w") as f:
        f.writelines(g + "\n" for g in sorted(held))
    kept = [x for x in items if x["group"] not in held]
    print(f"holding out {len(items) - len(kept)} questions of {len(held)} source groups (listed in {path})", flush=True)
    return kept


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir")
    p.add_argument("out")
    p.add_argument("files", nargs="+")
    p.add_argument("--check", action="store_true")
    p.add_argument("--layers", type=int, default=ADAPTED_LAYERS)
    p.add_argument("--hold-out", metavar="GROUPS.txt")
    a = p.parse_args()
    torch.set_num_threads(2)
    items = load(a.files)
    if a.hold_out:
        items = hold_out(items, a.hold_out)
    net = Network(a.model_dir, a.layers)
    print(f"{len(items)} labelled questions; running the first {net.first_adapted} layers over them", flush=True)
    states = net.lower_states([x["q"] for x in items], TRAIN_TOKENS)
    if a.check:
        check(net, items, states)
    fit(net, states, [x["label"] for x in items])
    save_file(net.tensors(), a.out)
    print(f"wrote {a.out}")
    print("reference embeddings (first and last four numbers), for tests/transformer.rs:")
    ref = net.embed(net.lower_states(REFERENCE_TEXTS, MAX_TOKENS))
    for text, v in zip(REFERENCE_TEXTS, ref):
        print(f"  {text[:40]!r}: {[round(float(x), 5) for x in v[:4]]} {[round(float(x), 5) for x in v[-4:]]}")


if __name__ == "__main__":
    main()
