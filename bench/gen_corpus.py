#!/usr/bin/env python3
"""Generate the Python corpus of the rewrite benchmark (bench/rewrite.sh).

Deterministic: the same --seed and --lines give the same files, byte for
byte, on every machine (only `random.Random(seed)` decides anything).

The corpus imitates a fleet of services: a few thousand modules and test
modules of very different sizes. Most files contain nothing the benchmark
rules (bench/rules.yaml) rewrite; a minority contain deprecated calls, some
of them spread over several lines; and a fair share contain near misses
(`logging.warning`, `collections.OrderedDict`, `assertEqual`, the names in
comments or strings) that a text prefilter lets through but that do not
match, so that a prefilter has to be right, not lucky.

Usage: gen_corpus.py OUT_DIR [--seed N] [--lines N] [--check]
"""

import argparse
import ast
import os
import random
import sys

WORDS = (
    "account address amount archive audit balance batch billing bucket cache "
    "cart channel charge checkout client config contract counter credit "
    "customer cursor dataset delivery device discount document draft entry "
    "event export feature fee filter gateway group handler history invoice "
    "item job ledger limit listing loader member message metric node offer "
    "order owner page partner payload payment plan policy price product "
    "profile quota rate record refund region report request result route "
    "schedule session shipment snapshot source status store subscription "
    "summary task tenant ticket token total transfer user vendor voucher "
    "wallet warehouse window worker"
).split()

VERBS = (
    "build check collect compute convert create decode encode ensure fetch "
    "find format group load merge normalize parse prepare process publish "
    "refresh register render resolve save schedule send split store sync "
    "transform update validate"
).split()

STDLIB = [
    "os",
    "sys",
    "json",
    "re",
    "time",
    "math",
    "itertools",
    "functools",
    "datetime",
    "pathlib",
    "hashlib",
    "uuid",
    "decimal",
]

ABC_NAMES = ["Mapping", "MutableMapping", "Sequence", "Iterable", "Callable"]


class Module:
    """One generated file: its lines and what it was given."""

    def __init__(self, rng, is_test):
        self.rng = rng
        self.is_test = is_test
        self.lines = []
        self.uses_logging = False
        self.uses_collections = False
        # Which deprecated constructs this file gets (most get none).
        self.deprecated = set()
        roll = rng.random()
        if roll < 0.09:
            pool = ["logging.warn", "os.getcwdu", "collections.abc"]
            if is_test:
                pool += ["assertEquals", "assertRegexpMatches", "assertEquals"]
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                self.deprecated.add(rng.choice(pool))
        # Near misses: the rules' words without a match.
        self.near_miss = rng.random() < 0.25

    def name(self):
        return self.rng.choice(WORDS)

    def func_name(self):
        return f"{self.rng.choice(VERBS)}_{self.rng.choice(WORDS)}"

    def class_name(self):
        a, b = self.rng.sample(WORDS, 2)
        return a.capitalize() + b.capitalize()

    def emit(self, indent, text):
        self.lines.append("    " * indent + text if text else "")


def header(m):
    rng = m.rng
    m.emit(0, f'"""{rng.choice(VERBS).capitalize()} {rng.choice(WORDS)} {rng.choice(WORDS)}s."""')
    m.emit(0, "")
    imports = sorted(rng.sample(STDLIB, rng.randint(1, 5)))
    if "os.getcwdu" in m.deprecated and "os" not in imports:
        imports = sorted(imports + ["os"])
    if m.deprecated & {"logging.warn"} or rng.random() < 0.45:
        imports.append("logging")
        m.uses_logging = True
    if "collections.abc" in m.deprecated or rng.random() < 0.2:
        imports.append("collections")
        m.uses_collections = True
    if m.is_test:
        imports.append("unittest")
    for name in sorted(set(imports)):
        m.emit(0, f"import {name}")
    if rng.random() < 0.5:
        m.emit(0, "from typing import Any, Dict, List, Optional")
    m.emit(0, "")
    if m.uses_logging:
        m.emit(0, "logger = logging.getLogger(__name__)")
    for _ in range(rng.randint(0, 4)):
        m.emit(0, f"{m.name().upper()}_{rng.choice(['LIMIT', 'TIMEOUT', 'RETRIES', 'SIZE'])} = {rng.randint(1, 5000)}")
    m.emit(0, "")


def call_args(m, count):
    rng = m.rng
    args = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.3:
            args.append(m.name())
        elif kind < 0.5:
            args.append(str(rng.randint(0, 999)))
        elif kind < 0.7:
            args.append(f'"{m.name()}-{rng.randint(1, 99)}"')
        elif kind < 0.85:
            args.append(f"{m.name()}={m.name()}")
        else:
            args.append(f"self.{m.name()}")
    # Keyword arguments after the positional ones (stable sort).
    return sorted(args, key=lambda a: "=" in a)


def a_call(m, indent, target):
    """A call to `target`, on one line or spread over several."""
    rng = m.rng
    args = call_args(m, rng.randint(0, 4))
    if len(args) >= 2 and rng.random() < 0.3:
        m.emit(indent, f"{target}(")
        for arg in args:
            m.emit(indent + 1, f"{arg},")
        m.emit(indent, ")")
    elif len(args) >= 2 and rng.random() < 0.2:
        pad = " " * (len(target) + 1)
        m.emit(indent, f"{target}({args[0]},")
        for arg in args[1:-1]:
            m.emit(indent, f"{pad}{arg},")
        m.emit(indent, f"{pad}{args[-1]})")
    else:
        m.emit(indent, f"{target}({', '.join(args)})")


def log_line(m, indent, level):
    rng = m.rng
    message = f'"{rng.choice(VERBS)} {m.name()} %s failed: %s"'
    if rng.random() < 0.35:
        m.emit(indent, f"{level}(")
        m.emit(indent + 1, f"{message},")
        m.emit(indent + 1, f"{m.name()},")
        m.emit(indent + 1, f"{m.name()},")
        m.emit(indent, ")")
    else:
        m.emit(indent, f"{level}({message}, {m.name()}, {m.name()})")


def statement(m, indent, budget):
    """One statement (maybe compound); returns the lines it used."""
    rng = m.rng
    start = len(m.lines)
    roll = rng.random()
    if roll < 0.22:
        m.emit(indent, f"{m.name()} = {m.name()}.get({m.name()!r}, {rng.randint(0, 9)})")
    elif roll < 0.34:
        a_call(m, indent, f"{m.name()} = self.{m.func_name()}")
    elif roll < 0.42 and budget > 4:
        m.emit(indent, f"if {m.name()} is not None and {m.name()} > {rng.randint(0, 99)}:")
        statement(m, indent + 1, budget - 2)
        m.emit(indent, "else:")
        m.emit(indent + 1, f"{m.name()} = None")
    elif roll < 0.5 and budget > 4:
        m.emit(indent, f"for {m.name()}_item in {m.name()}s:")
        statement(m, indent + 1, budget - 2)
        m.emit(indent + 1, f"total += {m.name()}_item.{m.name()}")
    elif roll < 0.56:
        m.emit(indent, f"{m.name()}s = [{m.name()}.id for {m.name()} in {m.name()}s if {m.name()}.active]")
    elif roll < 0.62:
        m.emit(indent, f"{m.name()} = {{")
        for _ in range(rng.randint(1, 4)):
            m.emit(indent + 1, f'"{m.name()}": {m.name()},')
        m.emit(indent, "}")
    elif roll < 0.67 and budget > 5:
        m.emit(indent, "try:")
        a_call(m, indent + 1, f"self.{m.func_name()}")
        m.emit(indent, f"except {rng.choice(['ValueError', 'KeyError', 'OSError'])} as exc:")
        if m.uses_logging:
            level = "logger.warning" if rng.random() < 0.5 else "logging.error"
            log_line(m, indent + 1, level)
        m.emit(indent + 1, "raise")
    elif roll < 0.72 and m.uses_logging:
        level = rng.choice(
            ["logger.info", "logger.debug", "logging.info", "logging.warning", "logger.warning"]
        )
        log_line(m, indent, level)
    elif roll < 0.75 and m.uses_collections:
        kind = rng.choice(["OrderedDict()", "defaultdict(list)", "Counter()", "deque(maxlen=10)"])
        m.emit(indent, f"{m.name()} = collections.{kind}")
    elif roll < 0.8:
        m.emit(indent, f'{m.name()} = f"{{{m.name()}}}/{{{m.name()}}}-{rng.randint(1, 9)}"')
    elif roll < 0.84:
        m.emit(indent, f"# {rng.choice(VERBS)} the {m.name()} before the {m.name()} is {rng.choice(VERBS)}d")
        m.emit(indent, f"{m.name()} = {m.name()} or {rng.randint(0, 9)}")
    else:
        a_call(m, indent, f"self.{m.name()}.{rng.choice(VERBS)}")
    return len(m.lines) - start


def deprecated_use(m, indent, kind):
    rng = m.rng
    if kind == "logging.warn":
        log_line(m, indent, "logging.warn")
    elif kind == "os.getcwdu":
        m.emit(indent, f"{m.name()}_dir = os.path.join(os.getcwdu(), {m.name()!r})")
    elif kind == "collections.abc":
        name = rng.choice(ABC_NAMES)
        m.emit(indent, f"if not isinstance({m.name()}, collections.{name}):")
        m.emit(indent + 1, f"raise TypeError({m.name()!r})")
    elif kind in ("assertEquals", "assertRegexpMatches"):
        value = f'"{m.name()}"' if kind == "assertRegexpMatches" else m.name()
        if rng.random() < 0.4:
            m.emit(indent, f"self.{kind}(")
            m.emit(indent + 1, f"self.{m.name()},")
            m.emit(indent + 1, f"{value},")
            m.emit(indent, ")")
        else:
            m.emit(indent, f"self.{kind}(self.{m.name()}, {value})")


def near_miss(m, indent):
    """The rules' words where they must not be rewritten."""
    rng = m.rng
    roll = rng.random()
    if roll < 0.3:
        m.emit(indent, f"# TODO: os.getcwdu() is gone in Python 3; logging.warn too")
    elif roll < 0.5:
        m.emit(indent, f'{m.name()} = "assertEquals is deprecated, see collections.Mapping"')
    elif roll < 0.7:
        m.emit(indent, f"{m.name()} = {m.name()}.warn_{m.name()} or os.getcwd()")
    else:
        m.emit(indent, f"{m.name()}_names = ['Mapping', 'warn', 'getcwdu']")


def method(m, target_lines, indent=1):
    rng = m.rng
    if rng.random() < 0.2:
        m.emit(indent, rng.choice(["@property", "@staticmethod", "@functools.lru_cache(maxsize=None)"]))
        if m.lines[-1].strip() == "@staticmethod":
            m.lines[-1] = "    " * indent + "@classmethod"
    name = f"test_{rng.choice(VERBS)}_{m.name()}" if m.is_test else m.func_name()
    params = ", ".join(["self"] + rng.sample(WORDS, rng.randint(0, 3)))
    m.emit(indent, f"def {name}({params}):")
    if rng.random() < 0.4:
        m.emit(indent + 1, f'"""{rng.choice(VERBS).capitalize()} the {m.name()}."""')
    m.emit(indent + 1, "total = 0")
    used = 0
    while used < target_lines:
        used += statement(m, indent + 1, target_lines - used)
        if m.is_test and rng.random() < 0.25:
            assertion = rng.choice(["assertEqual", "assertTrue", "assertIn", "assertIsNone", "assertRegex"])
            m.emit(indent + 1, f"self.{assertion}(self.{m.name()}, {m.name()})")
            used += 1
    m.emit(indent + 1, f"return {m.name()}")
    m.emit(0, "")


def module(rng, target, is_test):
    """A module of about `target` lines."""
    m = Module(rng, is_test)
    header(m)
    pending = sorted(m.deprecated)
    rng.shuffle(pending)
    while len(m.lines) < target:
        base = "unittest.TestCase" if is_test else rng.choice(["object", "Base", "Mixin"])
        if base in ("Base", "Mixin"):
            base = "object"
        m.emit(0, f"class {m.class_name()}({base}):")
        m.emit(1, f'"""The {m.name()} of a {m.name()}."""')
        m.emit(0, "")
        for _ in range(rng.randint(1, 6)):
            method(m, rng.randint(3, 25))
            if pending and rng.random() < 0.5:
                # Put the deprecated use into the method just written.
                body_end = len(m.lines) - 2
                tail = m.lines[body_end:]
                del m.lines[body_end:]
                deprecated_use(m, 2, pending.pop())
                m.lines.extend(tail)
            if m.near_miss and rng.random() < 0.3:
                body_end = len(m.lines) - 2
                tail = m.lines[body_end:]
                del m.lines[body_end:]
                near_miss(m, 2)
                m.lines.extend(tail)
            if len(m.lines) >= target:
                break
        m.emit(0, "")
    while pending:
        m.emit(0, f"def {m.func_name()}():")
        m.emit(1, "self = None")
        deprecated_use(m, 1, pending.pop())
        m.emit(1, "return None")
        m.emit(0, "")
    while m.lines and m.lines[-1] == "":
        m.lines.pop()
    return "\n".join(m.lines) + "\n"


def file_sizes(rng, total):
    """Sizes (in lines) of the files, varied, adding up to at least `total`."""
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(min(1500, max(8, rng.lognormvariate(4.3, 0.9)))))
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=20240521)
    parser.add_argument("--lines", type=int, default=320_000)
    parser.add_argument("--check", action="store_true", help="ast.parse every file")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if os.path.exists(args.out_dir) and os.listdir(args.out_dir):
        sys.exit(f"gen_corpus: {args.out_dir} exists and is not empty")
    lines = files = 0
    for index, size in enumerate(file_sizes(rng, args.lines)):
        service = f"svc_{index % 40:02d}_{WORDS[index % 40 * 3 % len(WORDS)]}"
        is_test = rng.random() < 0.3
        folder = "tests" if is_test else rng.choice(["app", "app/core", "app/api", "lib"])
        prefix = "test_" if is_test else ""
        name = f"{prefix}{rng.choice(WORDS)}_{rng.choice(VERBS)}_{index:05d}.py"
        text = module(rng, size, is_test)
        if args.check:
            ast.parse(text, filename=name)
        path = os.path.join(args.out_dir, service, folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        lines += text.count("\n")
        files += 1
    for service in sorted(os.listdir(args.out_dir)):
        with open(os.path.join(args.out_dir, service, "README.md"), "w", encoding="utf-8") as f:
            f.write(f"# {service}\n\nlogging.warn and os.getcwdu() in prose are not code.\n")
    print(f"{lines} lines of Python in {files} files")


if __name__ == "__main__":
    main()
