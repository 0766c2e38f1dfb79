#!/usr/bin/env python3
"""Real code for the rewrite benchmark, fetched from package registries.

Writes into DIR:
  python/<name>-<version>/   the sdists of well-known Python projects
                             (their tests and docs where the sdist has
                             them), from PyPI's simple index;
  js/<name>-<version>/       the published files of large npm packages
                             (JavaScript and TypeScript sources, builds,
                             type declarations), from the npm registry.

Only `.py`, `.js`, `.mjs`, `.cjs`, `.ts`, `.mts`, `.cts` and `.tsx` files
are kept (the tools read nothing else), symlinks and paths out of the
package never. Archives are cached in CACHE (default: the repository's
git-ignored .cache/bench), so a second run reads no network; each is
checked against the sha256 PyPI's index gives or the npm registry's
integrity (the index and the registry's metadata are read each run).
Versions are pinned: every run gives the same bytes.

Usage: bench/fetch_corpus.py DIR [--cache CACHE] [--only python|js]
"""

import argparse
import base64
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import urllib.request

PYTHON = [
    ("requests", "2.32.3"),
    ("flask", "3.1.0"),
    ("werkzeug", "3.1.3"),
    ("jinja2", "3.1.4"),
    ("click", "8.1.7"),
    ("pytest", "8.3.4"),
    ("scrapy", "2.12.0"),
    ("django", "5.1.4"),
]

NPM = [
    ("three", "0.170.0"),
    ("rxjs", "7.8.1"),
    ("lodash", "4.17.21"),
    ("eslint", "9.17.0"),
    ("axios", "1.7.9"),
]

KEEP = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx")


def get(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def cached(cache, name, fetch, check):
    path = os.path.join(cache, name)
    if os.path.exists(path):
        data = open(path, "rb").read()
        if check(data):
            return data
    data = fetch()
    if not check(data):
        sys.exit(f"fetch_corpus: {name} does not match its registry checksum")
    os.makedirs(cache, exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return data


def pypi_sdist(name, version):
    page = get(f"https://pypi.org/simple/{name}/").decode()
    pattern = re.compile(rf"/{re.escape(name)}-{re.escape(version)}\.tar\.gz#sha256=([0-9a-f]+)$", re.I)
    for href in re.findall(r'href="([^"]+)"', page):
        m = pattern.search(href)
        if m:
            return href.split("#")[0], m.group(1)
    sys.exit(f"fetch_corpus: no sdist of {name} {version} on PyPI")


def npm_tarball(name, version):
    meta = json.loads(get(f"https://registry.npmjs.org/{name}/{version}"))
    return meta["dist"]["tarball"], meta["dist"]["integrity"]


def sri_ok(integrity):
    algo, _, digest = integrity.partition("-")
    want = base64.b64decode(digest)
    return lambda data: hashlib.new(algo, data).digest() == want


def extract(data, dest):
    """The kept files of a .tar.gz under dest, the archive's first folder dropped."""
    files = lines = 0
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for member in t.getmembers():
            if not member.isfile() or not member.name.endswith(KEEP):
                continue
            parts = member.name.split("/")[1:]
            if not parts or any(p in ("", ".", "..") for p in parts):
                continue
            path = os.path.join(dest, *parts)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            body = t.extractfile(member).read()
            with open(path, "wb") as f:
                f.write(body)
            files += 1
            lines += body.count(b"\n")
    return files, lines


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--cache", default=os.path.join(here, "..", ".cache", "bench"))
    p.add_argument("--only", choices=["python", "js"])
    a = p.parse_args()
    if a.only != "js":
        for name, version in PYTHON:
            url, sha = pypi_sdist(name, version)
            data = cached(
                a.cache,
                f"{name}-{version}.tar.gz",
                lambda url=url: get(url),
                lambda data, sha=sha: hashlib.sha256(data).hexdigest() == sha,
            )
            files, lines = extract(data, os.path.join(a.dir, "python", f"{name}-{version}"))
            print(f"python/{name}-{version}: {files} files, {lines} lines", file=sys.stderr)
    if a.only != "python":
        for name, version in NPM:
            url, integrity = npm_tarball(name, version)
            data = cached(a.cache, f"{name}-{version}.tgz", lambda url=url: get(url), sri_ok(integrity))
            files, lines = extract(data, os.path.join(a.dir, "js", f"{name}-{version}"))
            print(f"js/{name}-{version}: {files} files, {lines} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
