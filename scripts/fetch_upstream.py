#!/usr/bin/env python3
"""Fetch the upstream reference files of upstream.lock into a cache and verify every byte.

The schema tests check what the program emits against upstream chart schemas, default values and
CRDs. Those files are not in this repository (they are other projects' files); upstream.lock pins each
one: ``<sha256>  <path>  <source>``, where the source is

- a URL at a pinned commit (``https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>``);
- ``manifest:<folder>``: the sha256 manifest of ``charts/<folder>/`` (``cd charts && find <folder>
  -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum``), made here from the fetched files;
- ``split:<path>``: one YAML document of the multi-document file ``<path>``, cut at its ``---`` lines
  (Istio ships its CRDs as one file, ``manifests/charts/base/files/crd-all.gen.yaml``).

Usage::

    python3 scripts/fetch_upstream.py                     # fetch into .cache/upstream
    python3 scripts/fetch_upstream.py --base file:///srv/mirror/upstream   # a mirror with the same layout
    python3 scripts/fetch_upstream.py --verify ../shared/upstream          # check a local copy, fetch nothing

``--base`` (or ``$AIRFLOW_MESH_UPSTREAM_BASE``) replaces every URL by ``<base>/<path>``: a local folder,
``file://`` or ``https://`` mirror. A file whose sha256 differs is never installed. The run ends with
``.complete`` (the lock's sha256) written into the cache, which tests/conftest.py looks for.

Standard library only: it runs before .venv exists. Exit status 0 when every file is in place and
verified, 1 otherwise (each failure is listed).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "upstream.lock"
CACHE = ROOT / ".cache" / "upstream"
MARKER = ".complete"


@dataclass(frozen=True)
class Entry:
    """One locked file: where it goes (relative to the upstream folder) and how to get it."""

    sha256: str
    path: str
    source: str


def read_lock(lock: Path = LOCK) -> list[Entry]:
    """The lock's entries, in file order. Raises ValueError naming the line of a malformed entry."""
    entries = []
    for number, line in enumerate(lock.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or len(parts[0]) != 64:
            raise ValueError(f"{lock.name}:{number}: expected '<sha256>  <path>  <source>', got {line!r}")
        entries.append(Entry(*parts))
    return entries


def lock_digest(lock: Path = LOCK) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_url(url: str) -> bytes:
    if url.startswith(("https://", "http://", "file://")):
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    return Path(url).read_bytes()  # a plain folder given as --base


def _source_url(entry: Entry, base: str | None) -> str:
    if not base:
        return entry.source
    if base.startswith(("https://", "http://", "file://")):
        return f"{base.rstrip('/')}/{urllib.parse.quote(entry.path)}"
    return str(Path(base) / entry.path)


def _install(dest: Path, entry: Entry, data: bytes) -> str | None:
    """Write ``data`` at ``dest/entry.path`` if its sha256 is the locked one; else the problem."""
    got = sha256(data)
    if got != entry.sha256:
        return f"{entry.path}: sha256 {got} is not the locked {entry.sha256} (not installed)"
    target = dest / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return None


def _present(dest: Path, entry: Entry) -> bool:
    target = dest / entry.path
    return target.is_file() and sha256(target.read_bytes()) == entry.sha256


def _manifest(dest: Path, folder: str) -> bytes:
    """The manifest PROVENANCE-4 describes: one ``<sha256>  <folder>/<path>`` line per file, sorted
    by path bytes (``LC_ALL=C sort -z``)."""
    charts = dest / "charts"
    files = sorted((p for p in (charts / folder).rglob("*") if p.is_file()), key=lambda p: os.fsencode(p))
    lines = [f"{sha256(p.read_bytes())}  {p.relative_to(charts).as_posix()}\n" for p in files]
    return "".join(lines).encode()


def _split(dest: Path, source: str, entry: Entry) -> bytes | None:
    """The document of ``source`` whose bytes have the locked sha256 (documents exclude the ``---``
    separator line)."""
    docs: list[list[bytes]] = [[]]
    for line in (dest / source).read_bytes().splitlines(keepends=True):
        if line.rstrip(b"\r\n") == b"---":
            docs.append([])
        else:
            docs[-1].append(line)
    return next((b"".join(d) for d in docs if sha256(b"".join(d)) == entry.sha256), None)


def fetch(entries: list[Entry], dest: Path, base: str | None, jobs: int = 16) -> list[str]:
    """Put every entry into ``dest``; return the problems (empty: all verified)."""
    problems: list[str] = []
    direct = [e for e in entries if e.source.startswith(("https://", "http://", "file://"))]
    derived = [e for e in entries if e not in direct]
    todo = [e for e in direct if not _present(dest, e)]
    print(f"upstream: {len(entries)} locked files, {len(entries) - len(todo) - len(derived)} already verified")

    def one(entry: Entry) -> str | None:
        url = _source_url(entry, base)
        try:
            return _install(dest, entry, _read_url(url))
        except (OSError, ValueError) as err:
            return f"{entry.path}: cannot read {url}: {err}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for done, problem in enumerate(pool.map(one, todo), 1):
            if problem:
                problems.append(problem)
            if done % 200 == 0 or done == len(todo):
                print(f"  fetched {done}/{len(todo)}", flush=True)
    for entry in derived:
        kind, _, arg = entry.source.partition(":")
        try:
            data = _manifest(dest, arg) if kind == "manifest" else _split(dest, arg, entry) if kind == "split" else None
        except OSError as err:
            data, kind = None, f"{kind} ({err})"
        problem = _install(dest, entry, data) if data is not None else f"{entry.path}: cannot derive from {kind}"
        if problem:
            problems.append(problem)
    return problems


def verify(entries: list[Entry], folder: Path) -> list[str]:
    """Problems of a local copy: locked files that are missing or differ."""
    problems = []
    for entry in entries:
        target = folder / entry.path
        if not target.is_file():
            problems.append(f"{entry.path}: missing")
        elif sha256(target.read_bytes()) != entry.sha256:
            problems.append(f"{entry.path}: sha256 differs from the lock")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--dest", type=Path, default=CACHE, help="cache folder (default .cache/upstream)")
    parser.add_argument("--base", default=os.environ.get("AIRFLOW_MESH_UPSTREAM_BASE"), help="mirror to read from")
    parser.add_argument("--verify", type=Path, help="only check this local copy against the lock")
    parser.add_argument("--only", default="", help="only the locked paths starting with this prefix")
    args = parser.parse_args(argv)

    entries = [e for e in read_lock(args.lock) if e.path.startswith(args.only)]
    if args.verify:
        problems = verify(entries, args.verify)
    else:
        args.dest.mkdir(parents=True, exist_ok=True)
        (args.dest / MARKER).unlink(missing_ok=True)
        problems = fetch(entries, args.dest, args.base)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} of {len(entries)} upstream files failed", file=sys.stderr)
        return 1
    if not args.verify and not args.only:
        (args.dest / MARKER).write_text(lock_digest(args.lock) + "\n")
    where = args.verify or args.dest
    print(f"upstream: {len(entries)} files verified in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
