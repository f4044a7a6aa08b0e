#!/usr/bin/env python3
"""Writes a copy of all-mpnet-base-v2 with the knowledge base's low-rank
adapter added to its weights (W + B A for every adapted linear layer, as
triage does when it builds the network), so other tools can read the
adapted model.

    python3 merge-adapter.py MODEL_DIR knowledge/adapter.all-mpnet-base-v2.safetensors OUT_DIR
"""
import sys

from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer


def main() -> None:
    src, adapter, out = sys.argv[1:4]
    model = AutoModel.from_pretrained(src)
    tensors = load_file(adapter)
    state = model.state_dict()
    for name, a in tensors.items():
        if name.endswith(".lora_A"):
            prefix = name[: -len(".lora_A")]
            state[prefix + ".weight"] = state[prefix + ".weight"] + tensors[prefix + ".lora_B"] @ a
    model.load_state_dict(state)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(src).save_pretrained(out)


if __name__ == "__main__":
    main()
