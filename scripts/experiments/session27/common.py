"""What session 27's scripts share: the repository, the working directory
their files go to (TOKENLEARN_DIR, /tmp/tokenlearn by default), how the
corpus cuts a question into sentences and names its source group, which
groups are held out, and how a static table reads a text."""
import os
import re
import zlib

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
WORK = os.environ.get("TOKENLEARN_DIR", "/tmp/tokenlearn")
os.makedirs(WORK, exist_ok=True)


def fnv1a64(text):
    """`src/fnv.rs`: `triage fit` puts a group in fold fnv1a64(group) % 5."""
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def sentences(text):
    """A question's sentences, as the corpus splits them (and as
    fold-check.py must split them to leave a fold's out)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text)]


def group_key(path, item):
    """A labelled item's source group in the corpus: its file and group."""
    return path + ":" + str(item.get("group") or item.get("source") or item.get("expect"))


def held_out(group_key_text):
    """The tenth of the corpus's source groups that the tables are never
    moved on: `student.py` stops on their loss, `proxy.py` scores them."""
    return zlib.crc32(group_key_text.encode()) % 10 == 0


def load_table(d):
    """A static table directory: a function from text to its token ids
    (the unknown token dropped, 256 at most, as triage reads it) and the
    table as float32 rows."""
    import numpy as np
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    unk = tok.token_to_id("[UNK]")
    if unk is None:
        unk = tok.token_to_id("<unk>")

    def ids(text):
        return [i for i in tok.encode(text, add_special_tokens=False).ids if i != unk][:256]

    return ids, load_file(os.path.join(d, "model.safetensors"))["embeddings"].astype(np.float32)
