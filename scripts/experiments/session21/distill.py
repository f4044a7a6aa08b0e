#!/usr/bin/env python3
"""Distils a Model2Vec static table (256 dimensions, int8) from a local
sentence-transformer directory, as scripts/distill-model.py does for
all-MiniLM-L6-v2. Used in session 21 to try all-mpnet-base-v2 (and the
same with the knowledge base's adapter merged, merge-adapter.py) as a
shipped table.

    python3 distill.py MODEL_DIR OUT_DIR
"""
import os
import pathlib
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from model2vec.distill import distill


def main() -> None:
    teacher, out = sys.argv[1], pathlib.Path(sys.argv[2])
    model = distill(model_name=teacher, pca_dims=256, quantize_to="int8")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    for p in out.iterdir():
        if p.name not in {"model.safetensors", "tokenizer.json", "config.json"}:
            p.unlink()


if __name__ == "__main__":
    main()
