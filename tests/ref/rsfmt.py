"""Rust literal formatting shared by the reference-data generators in tests/ref.

The generated files are compiled into the tests, so `cargo fmt` formats them too. These
helpers lay out constants the way rustfmt 1.x does with the default configuration
(max_width 100, array_width 60, short_array_element_width_threshold 10), so a freshly
generated file is already rustfmt-clean and regenerating gives no formatting churn:

* an array whose one-line form `[a, b, c]` is at most 60 characters stays on one line;
* otherwise, if every element is at most 10 characters, elements are packed several
  to a line (4-space indent, trailing comma, lines shorter than 100 characters: rustfmt
  keeps one column free there);
* otherwise there is one element per line.

Floats are written with Python's repr: the shortest string that reads back as the
same f64, which is also a valid Rust f64 literal.
"""

import math

MAX_WIDTH = 100
ARRAY_WIDTH = 60
SHORT_ELEMENT = 10
INDENT = "    "


def f64(x):
    """Rust literal for a float, exact (shortest round-trip repr)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {x!r} in reference data")
    r = repr(x)
    if "." not in r and "e" not in r:
        r += ".0"
    return r


def usize(n):
    n = int(n)
    if n < 0:
        raise ValueError(f"negative usize {n}")
    return str(n)


def array_body(prefix, items, suffix=";"):
    """`prefix` + an array literal of the already-formatted `items` + `suffix`.

    `prefix` is everything before the opening bracket, e.g. "pub const X: [f64; 3] = "
    or "pub const X: &[f64] = &".
    """
    one_line = "[" + ", ".join(items) + "]"
    if len(one_line) <= ARRAY_WIDTH and len(prefix) + len(one_line) + len(suffix) <= MAX_WIDTH:
        return prefix + one_line + suffix + "\n"
    lines = [prefix + "[\n"]
    if all(len(s) <= SHORT_ELEMENT for s in items):
        row = []
        for s in items:
            if row and len(INDENT + ", ".join(row + [s]) + ",") >= MAX_WIDTH:
                lines.append(INDENT + ", ".join(row) + ",\n")
                row = []
            row.append(s)
        lines.append(INDENT + ", ".join(row) + ",\n")
    else:
        lines += [INDENT + s + ",\n" for s in items]
    lines.append("]" + suffix + "\n")
    return "".join(lines)


def const_f64(name, x):
    return f"pub const {name}: f64 = {f64(x)};\n"


def const_usize(name, n):
    return f"pub const {name}: usize = {usize(n)};\n"


def f64_array(name, values, kind="const"):
    """`pub const NAME: [f64; N] = [...];` (kind "static" for `pub static`)."""
    items = [f64(v) for v in values]
    return array_body(f"pub {kind} {name}: [f64; {len(items)}] = ", items)


def usize_array(name, values):
    items = [usize(v) for v in values]
    return array_body(f"pub const {name}: [usize; {len(items)}] = ", items)


def f64_slice(name, values):
    """`pub const NAME: &[f64] = &[...];`"""
    return array_body(f"pub const {name}: &[f64] = &", [f64(v) for v in values])
