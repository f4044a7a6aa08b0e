#!/usr/bin/env python3
"""Writes session 22's two reduced training files from eval/real/train.yaml:
OUT/v1/real/train.yaml without the items whose `expect` line the collectors
marked `# loose` in eval/real/parts/, and OUT/v2/real/train.yaml without part
51 (near misses). split.py drops comments, so the marks are read from parts/.

    python3 scripts/experiments/session22/train-variants.py /tmp/s22
"""
import pathlib
import re
import sys

import yaml

REAL = pathlib.Path(__file__).resolve().parents[3] / "eval" / "real"


def loose_sources():
    loose = set()
    for part in sorted((REAL / "parts").glob("*.yaml")):
        pending = False
        for line in part.read_text().splitlines():
            if line.lstrip().startswith("- query"):
                pending = False
            if re.match(r"\s*expect:.*#\s*loose", line):
                pending = True
            m = re.match(r"\s*source:\s*(\S+)", line)
            if m and pending:
                loose.add(m.group(1))
                pending = False
    return loose


def main() -> int:
    out = pathlib.Path(sys.argv[1])
    train = yaml.safe_load((REAL / "train.yaml").read_text())
    loose = loose_sources()
    variants = {
        "v1": [i for i in train if i["source"] not in loose],
        "v2": [i for i in train if not i["part"].startswith("51-")],
    }
    for name, items in variants.items():
        path = out / name / "real" / "train.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=100))
        print(f"{path}: {len(items)} of {len(train)} items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
