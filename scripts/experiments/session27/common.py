"""Paths shared by session 27's scripts: the repository, and the working
directory their files go to (TOKENLEARN_DIR, /tmp/tokenlearn by default)."""
import os

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
WORK = os.environ.get("TOKENLEARN_DIR", "/tmp/tokenlearn")
os.makedirs(WORK, exist_ok=True)


def fnv1a64(text):
    """`src/fnv.rs`: `triage fit` puts a group in fold fnv1a64(group) % 5."""
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h
