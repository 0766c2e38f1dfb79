#!/usr/bin/env python3
"""Do two rewritten trees agree? For bench/rewrite.sh.

Usage: bench/compare_trees.py ORIGINAL A B

A and B are the same ORIGINAL rewritten by two tools. They agree when
every file is byte-identical in both, or differs only in layout kept on
purpose: its text without whitespace is the same, and every place the two
differ spans several lines in one of them (a match on one line must come
out byte-identical). Prints a summary line; exits 1 with the first few
disagreements otherwise.
"""

import difflib
import os
import sys


def files(root):
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            yield os.path.relpath(p, root)


def squeeze(text):
    return "".join(text.split())


def main():
    original, a, b = sys.argv[1:4]
    names = sorted(set(files(a)) | set(files(b)))
    changed = identical = layout = 0
    problems = []
    for rel in names:
        pa, pb, po = (os.path.join(r, rel) for r in (a, b, original))
        ta = open(pa, "rb").read() if os.path.exists(pa) else None
        tb = open(pb, "rb").read() if os.path.exists(pb) else None
        to = open(po, "rb").read() if os.path.exists(po) else None
        if ta != to or tb != to:
            changed += 1
        if ta == tb:
            identical += 1
            continue
        if ta is None or tb is None:
            problems.append(f"{rel}: only in {'B' if ta is None else 'A'}")
            continue
        sa, sb = ta.decode("utf-8", "replace"), tb.decode("utf-8", "replace")
        if squeeze(sa) != squeeze(sb):
            problems.append(f"{rel}: differs beyond whitespace")
            continue
        la, lb = sa.splitlines(), sb.splitlines()
        single = [
            op
            for op in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes()
            if op[0] != "equal" and op[2] - op[1] <= 1 and op[4] - op[3] <= 1
        ]
        if single:
            tag, i1, i2, j1, j2 = single[0]
            problems.append(f"{rel}: line {i1 + 1} differs on one line: {la[i1:i2]} vs {lb[j1:j2]}")
            continue
        layout += 1
    if problems:
        print(f"the outputs disagree in {len(problems)} file(s):", file=sys.stderr)
        for p in problems[:10]:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    print(f"{changed} file(s) changed; {identical} of {len(names)} byte-identical, {layout} differing only in a multi-line match's layout")


if __name__ == "__main__":
    main()
