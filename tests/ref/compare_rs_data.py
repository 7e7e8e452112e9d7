#!/usr/bin/env python3
"""Compare two generated Rust reference-data files constant by constant.

    python3 tests/ref/compare_rs_data.py OLD.rs NEW.rs

Reads every `pub const` / `pub static` item whose value is a number or an array of numbers
(or of tuples of numbers) and prints, per constant, the maximum relative difference
|new - old| / |old| (absolute where old is 0), or why the two cannot be compared (missing,
different length). Exits 1 if any constant is missing or differs in shape, else 0.
Plain Python, no packages needed.
"""

import re
import sys

ITEM = re.compile(r"^pub (?:const|static) (\w+): ([^=]+?) = (.*?);$", re.S | re.M)
NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|inf|nan)", re.I)


def numbers(text):
    return [float(x) for x in NUMBER.findall(text)]


def parse(path):
    """name -> list of numbers, for numeric items (types and array lengths are skipped)."""
    with open(path) as fh:
        src = fh.read()
    out = {}
    for m in ITEM.finditer(src):
        name, value = m.group(1), m.group(3)
        if re.search(r"[A-Za-z_]\w*\s*[,{]|\"", value.replace("e-", "").replace("e+", "")):
            continue  # struct literals, strings, references to other constants
        out[name] = numbers(value)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = parse(sys.argv[1]), parse(sys.argv[2])
    bad = False
    width = max(len(n) for n in old) if old else 0
    worst = 0.0
    for name, a in old.items():
        b = new.get(name)
        if b is None:
            print(f"{name:<{width}}  missing in {sys.argv[2]}")
            bad = True
            continue
        if len(a) != len(b):
            print(f"{name:<{width}}  length {len(a)} -> {len(b)}")
            bad = True
            continue
        rel = max((abs(y - x) / (abs(x) if x != 0 else 1.0) for x, y in zip(a, b)), default=0.0)
        exact = sum(x == y for x, y in zip(a, b))
        worst = max(worst, rel)
        print(f"{name:<{width}}  n={len(a):<5} max rel diff {rel:.3g}  ({exact}/{len(a)} identical)")
    for name in new.keys() - old.keys():
        print(f"{name:<{width}}  new in {sys.argv[2]}")
    print(f"overall max rel diff {worst:.3g}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
