#!/usr/bin/env python3
"""Is the conditional logit what holds the matcher back, or its features?

Reads the rows `triage fit` dumps with dump-rows.patch applied (each
labelled question's candidates with their entry features, its question
features, which candidates are right, and its fold, the learned features
computed without that fold) and cross-validates, on the same five folds,
scorers of growing shape over the same features:

    linear        the shipped model: w . x for a candidate, v . z for none
    gam L2...     each feature also through hinges at its 20/40/60/80 %
                  quantiles (an additive model), per L2 penalty
    mlp H L2...   the linear model plus a one-hidden-layer network (H tanh
                  units) over a candidate's features, the question's
                  features and the candidate's gap to the best candidate
                  on each feature, and one over the question's features
                  for none; the network's weights penalised by each L2

Prints the threshold-free figures `triage fit` prints: the mean log of
the probability given the right outcome (floored at 1e-6) and the share
of in-scope questions whose most probable entry is right, over all
labelled questions and over the real training reports.

    python3 scripts/experiments/session28/nonlinear.py ROWS.jsonl linear
    python3 scripts/experiments/session28/nonlinear.py ROWS.jsonl gam 0.05 1 5
    python3 scripts/experiments/session28/nonlinear.py ROWS.jsonl mlp 16 1 10
"""
import json
import sys

import numpy as np
import torch

FOLDS = 5
L2 = 0.05  # the shipped fit's penalty (src/matcher/fit/mod.rs)
FLOOR = 1e-6


def load(path):
    rows = [json.loads(line) for line in open(path)]
    n, width = len(rows), max(len(r["c"]) for r in rows)
    ne, nq = len(rows[0]["c"][0]["x"]), len(rows[0]["z"])
    x = np.zeros((n, width, ne), np.float32)
    mask, topic, right = (np.zeros((n, width), bool) for _ in range(3))
    z = np.zeros((n, nq), np.float32)
    for i, r in enumerate(rows):
        for j, c in enumerate(r["c"]):
            x[i, j], mask[i, j], topic[i, j], right[i, j] = c["x"], True, c["topic"], c["right"]
        z[i] = r["z"]
    d = {k: torch.tensor(v) for k, v in dict(x=x, mask=mask, topic=topic, right=right, z=z).items()}
    d["in_scope"] = np.array([r["in_scope"] for r in rows])
    d["fold"] = np.array([r["fold"] for r in rows])
    d["real"] = np.array([r["set"] == "real/train" for r in rows])
    # What the fit is taught, as `newton` in src/matcher/fit/mod.rs: the
    # right candidates; for an out-of-scope question none and the
    # out-of-scope topics; an in-scope question whose entry was not
    # recalled is left out.
    none = torch.zeros(n, 1, dtype=torch.bool)
    target = torch.cat([d["right"], none], 1)
    oos = torch.tensor(~d["in_scope"])
    target[oos] = torch.cat([d["topic"][oos], torch.ones(int(oos.sum()), 1, dtype=torch.bool)], 1)
    d["target"] = target
    d["usable"] = d["right"].any(1) | oos
    return d


class Linear(torch.nn.Module):
    def __init__(self, ne, nq):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(ne))
        self.v = torch.nn.Parameter(torch.zeros(nq))

    def forward(self, x, z, mask):
        return x @ self.w, z @ self.v

    def penalty(self):
        return 0.5 * L2 * ((self.w**2).sum() + (self.v**2).sum())


class Network(torch.nn.Module):
    def __init__(self, ne, nq, hidden, l2):
        super().__init__()
        self.linear, self.l2 = Linear(ne, nq), l2
        self.f = torch.nn.Sequential(torch.nn.Linear(2 * ne + nq, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
        self.g = torch.nn.Sequential(torch.nn.Linear(nq, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
        for last in (self.f[2], self.g[2]):
            torch.nn.init.zeros_(last.weight)
            torch.nn.init.zeros_(last.bias)

    def forward(self, x, z, mask):
        a, b = self.linear(x, z, mask)
        best = torch.where(mask.unsqueeze(-1), x, torch.full_like(x, -1e4)).max(1, keepdim=True).values
        inputs = torch.cat([x, z.unsqueeze(1).expand(-1, x.shape[1], -1), x - best], -1)
        return a + self.f(inputs).squeeze(-1), b + self.g(z).squeeze(-1)

    def penalty(self):
        net = sum((p**2).sum() for name, p in self.named_parameters() if not name.startswith("linear"))
        return self.linear.penalty() + 0.5 * self.l2 * net


def log_probs(model, x, z, mask):
    a, b = model(x, z, mask)
    return torch.log_softmax(torch.cat([a.masked_fill(~mask, -1e9), b.unsqueeze(1)], 1), 1)


def train(model, d, x, z, idx):
    idx = idx[d["usable"][idx]]
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=200, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        lp = log_probs(model, x[idx], z[idx], d["mask"][idx])
        loss = -torch.logsumexp(lp.masked_fill(~d["target"][idx], -1e9), 1).sum() + model.penalty()
        loss.backward()
        return loss

    opt.step(closure)


def cross_validate(d, make, x, z):
    n, width = d["mask"].shape
    probs = torch.zeros(n, width + 1)
    for k in range(FOLDS):
        model = make()
        train(model, d, x, z, torch.tensor(np.where(d["fold"] != k)[0]))
        test = torch.tensor(np.where(d["fold"] == k)[0])
        with torch.no_grad():
            probs[test] = log_probs(model, x[test], z[test], d["mask"][test]).exp()
    p = probs[:, :width]
    entry = d["mask"] & ~d["topic"]
    in_scope = torch.tensor(d["in_scope"])
    right = torch.where(in_scope, (p * d["right"]).sum(1), 1.0 - (p * entry).sum(1))
    loglik = right.clamp(FLOOR, 1.0).log().numpy()
    best = p.masked_fill(~entry, -1.0).argmax(1, keepdim=True)
    first = (d["right"].gather(1, best).squeeze(1) & entry.any(1))[in_scope].numpy()
    real_in_scope = d["real"][d["in_scope"]]
    return (f"log-lik {loglik.mean():.4f}  first {first.mean():.3f}  "
            f"real/train: log-lik {loglik[d['real']].mean():.4f}  first {first[real_in_scope].mean():.3f}")


def main():
    d = load(sys.argv[1])
    torch.manual_seed(0)
    ne, nq = d["x"].shape[-1], d["z"].shape[-1]
    which, args = sys.argv[2], sys.argv[3:]
    if which == "linear":
        print("linear", cross_validate(d, lambda: Linear(ne, nq), d["x"], d["z"]))
    elif which == "gam":
        qs = [0.2, 0.4, 0.6, 0.8]
        flat = d["x"][d["mask"]]
        kx = [torch.quantile(flat, q, 0) for q in qs]
        kz = [torch.quantile(d["z"], q, 0) for q in qs]
        x = torch.cat([d["x"]] + [torch.relu(d["x"] - k) for k in kx], -1)
        z = torch.cat([d["z"]] + [torch.relu(d["z"] - k) for k in kz], -1)
        for l2 in map(float, args):
            global L2
            L2 = l2
            print("gam", l2, cross_validate(d, lambda: Linear(x.shape[-1], z.shape[-1]), x, z))
    elif which == "mlp":
        hidden = int(args[0])
        for l2 in map(float, args[1:]):
            print("mlp", hidden, l2, cross_validate(d, lambda: Network(ne, nq, hidden, l2), d["x"], d["z"]))


if __name__ == "__main__":
    main()
