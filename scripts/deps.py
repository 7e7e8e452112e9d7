#!/usr/bin/env python3
# Usage: python3 scripts/deps.py [src]   (run from the repository root)
"""File-level import graph of src/ (crate:: and super:: paths), cycles and largest files."""
import os, re, sys, itertools
root = sys.argv[1] if len(sys.argv) > 1 else "src"
files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith(".rs"):
            p = os.path.join(d, f)
            files[p] = open(p).read()

def modpath(p):
    rel = os.path.relpath(p, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel

mods = {tuple(modpath(p)): p for p in files}

def resolve(segs):
    # longest prefix that is a module file
    for k in range(len(segs), 0, -1):
        t = tuple(segs[:k])
        if t in mods:
            return mods[t]
    return None

def strip_tests(src):
    # drop #[cfg(test)] mod tests { ... } blocks (crudely: from the attribute to end of file if mod tests)
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", src)
    return src[:m.start()] if m else src

edges = {p: set() for p in files}
for p, src in files.items():
    me = modpath(p)
    body = strip_tests(src)
    # expand use groups crudely: collect all paths starting with crate:: or super::
    for m in re.finditer(r"\b(crate|super|self)((?:::\w+)+)", body):
        head, rest = m.group(1), m.group(2).split("::")[1:]
        if head == "crate":
            segs = rest
        elif head == "super":
            base = me[:-1] if not p.endswith("mod.rs") else me[:-1]
            segs = base + rest
        else:
            segs = me + rest
        t = resolve(segs)
        if t and t != p:
            edges[p].add(t)
    # grouped uses: use crate::{a::b, c}
    for m in re.finditer(r"use\s+(crate|super)::\{([^;]*)\};", body, re.S):
        head = m.group(1)
        base = [] if head == "crate" else me[:-1]
        for item in re.split(r",\s*", m.group(2)):
            item = item.strip().split("::")
            item = [x.strip("{} \n") for x in item if x.strip("{} \n")]
            if not item: continue
            t = resolve(base + item)
            if t and t != p:
                edges[p].add(t)

# parent mod.rs declaring children is not an import; remove edges from a mod.rs to its own children only if via 'mod' (we didn't add those)
# find cycles: SCCs
index = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            sc(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(comp)
for v in edges:
    if v not in index: sc(v)
print("import cycles (strongly connected groups of files):", len(sccs))
for comp in sccs:
    pairs = [(a, b) for a in comp for b in comp if b in edges[a]]
    print("  group:", " ".join(sorted(comp)))
    for a, b in sorted(pairs):
        if a in edges[b] and a < b:
            print("    mutual:", a, "<->", b)
def code_lines(src):
    n = 0
    for line in strip_tests(src).splitlines():
        s = line.strip()
        if s and not s.startswith("//"):
            n += 1
    return n
print("largest files by code lines outside test modules:")
for p, n in sorted(((p, code_lines(s)) for p, s in files.items()), key=lambda x: -x[1])[:12]:
    print(f"  {n:5d} {p}")
