#!/usr/bin/env python3
"""Rebuilds models/wordllama-l2/: the static token embeddings that triage
compiles in for sentence similarity, in the Model2Vec layout that the Rust
loader (model2vec-rs) reads: tokenizer.json, model.safetensors, config.json.

The source is WordLlama's `l2_supercat` model (256 dimensions), which the
PyPI package `wordllama` (MIT) carries inside its wheel, so nothing is
fetched from a model hub:

    pip install wordllama==0.4.0.post1
    python3 scripts/export-model.py

WordLlama trained these vectors from the token-embedding codebooks of large
language models (Llama 2 among them); the tokenizer is Llama 2's. A text is
the mean of its tokens' vectors, exactly as WordLlama embeds it.

The float16 table is stored as int8 with one global scale (8 MB instead of
16 MB). Cosine similarity ignores a global scale, and on our labelled
questions the int8 table ranks entries as the float one does (top-1 by
similarity alone 0.683 against 0.685).
"""
import json
import pathlib

import numpy as np
import wordllama
from safetensors.numpy import load_file, save_file

SOURCE = pathlib.Path(wordllama.__file__).parent
OUT = pathlib.Path(__file__).resolve().parent.parent / "models" / "wordllama-l2"


def main() -> None:
    table = load_file(str(SOURCE / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"]
    table = table.astype(np.float32)
    scale = np.abs(table).max() / 127.0
    quantised = np.clip(np.round(table / scale), -127, 127).astype(np.int8)
    OUT.mkdir(parents=True, exist_ok=True)
    save_file({"embeddings": quantised}, str(OUT / "model.safetensors"))
    tokenizer = json.loads((SOURCE / "tokenizers" / "l2_supercat_tokenizer_config.json").read_text(encoding="utf-8"))
    # Llama 2's tokenizer has no pre-tokenizer: the whole text is one word
    # to the BPE merges (O(n log n) in the text, never cached). Cut it
    # before each run of "\u2581" (the space); no vocabulary token has one
    # after another character, so no merge crosses a cut and the token ids
    # are unchanged (src/matcher/semantic.rs tests this).
    tokenizer["pre_tokenizer"] = {
        "type": "Split",
        "pattern": {"Regex": "\u2581+[^\u2581]*"},
        "behavior": "Isolated",
        "invert": False,
    }
    text = json.dumps(tokenizer, indent=2, ensure_ascii=False) + "\n"
    (OUT / "tokenizer.json").write_text(text, encoding="utf-8")
    config = {"model_type": "model2vec", "normalize": True, "hidden_dim": int(table.shape[1])}
    (OUT / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for p in sorted(OUT.iterdir()):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
