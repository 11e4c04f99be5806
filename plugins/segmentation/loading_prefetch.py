"""Read-only work on the next file while the loader inserts the current one.

The insert of a clean file into raw runs on one core (``row_number() over ()``
numbers rows in file order, and DuckDB runs that window single-threaded). The
work that only reads the file - its SHA-256 and physical line count, and for
JSON lines the key lists of its records (``loading_fast.key_sets_sql``) - does
not need the warehouse, so a background thread does it for the next file on
the other core, in its own in-memory DuckDB connection.

Nothing here decides an outcome. A result is only a value the loader would
otherwise compute itself at the same point (the checksum, the line count, the
key lists); when a pre-check fails (DuckDB cannot parse the file, out of
memory, ...) the loader simply runs it again inline and handles the error as
it always did. A file that changes after it was read here is caught by the
loader's existing size/mtime check after the insert.

Off by default (``SEGMENTS_LOAD_PREFETCH``), and used only when files load one
at a time (``SEGMENTS_LOAD_WORKERS=1``; two workers, the default, use both cores
better: docs/ingestion.md). It only pays where the loader has a core to spare
(measured below, at PREFETCH_ENV); without it, ``Prefetcher.get`` prepares each
file inline, exactly as the loader did before.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segmentation.loading_formats import sha256_and_lines, sha256_of

log = logging.getLogger(__name__)

# Off by default: at large on an idle 2-core machine it cut the load's wall time by 13% for 25%
# more CPU, and under load it cost more than it saved (bench/RESULTS.md, "Loader throughput").
# Set SEGMENTS_LOAD_PREFETCH=1 where the loader has a core to spare.
PREFETCH_ENV = "SEGMENTS_LOAD_PREFETCH"


def prefetch_enabled() -> bool:
    return os.environ.get(PREFETCH_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


# The pre-check connection's memory (the key lists are a small aggregate; it streams the file).
PREFETCH_MEMORY_LIMIT = "256MB"

LINE_COUNT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class Prepared:
    """What the loader needs to know about a file before it opens a transaction."""
    sha: str
    physical_lines: int | None          # counted while hashing (plain text files on the fast path)
    key_sets: list[tuple] | None = None  # rows of loading_fast.key_sets_sql; None = not computed here


@dataclass(frozen=True)
class PrefetchItem:
    path: Path
    key_sets_query: str | None = None   # JSON lines on the fast path: loading_fast.key_sets_sql


def prepare(item: PrefetchItem, fast: bool, con: duckdb.DuckDBPyConnection | None = None) -> Prepared:
    """Checksum (+ line count on the fast path) of one file, and its key lists when asked and ``con`` is given.

    Any failure of the key-list query leaves ``key_sets`` None (the loader runs it again).
    """
    path = item.path
    if fast and path.suffix.lower() in LINE_COUNT_SUFFIXES:
        sha, lines = sha256_and_lines(path)
    else:
        sha, lines = sha256_of(path), None
    key_sets = None
    if item.key_sets_query is not None and con is not None:
        try:
            key_sets = con.execute(item.key_sets_query).fetchall()
        except duckdb.Error as exc:  # the loader runs it inline again and judges the error
            log.debug("%s: key lists not pre-computed (%s)", path.name, str(exc).splitlines()[0][:200])
    return Prepared(sha, lines, key_sets)


class Prefetcher:
    """Prepares ``items`` in order in one background thread, at most ``ahead`` files ahead of the loader.

    Use as a context manager; ``get(i)`` returns item i's ``Prepared`` (waiting for it if needed).
    Only when enabled (``SEGMENTS_LOAD_PREFETCH=1`` or ``enabled=True``); otherwise ``get`` works inline.
    """

    def __init__(self, items: list[PrefetchItem], fast: bool, ahead: int = 1, enabled: bool | None = None) -> None:
        self._items = items
        self._fast = fast
        self._ahead = ahead
        self._enabled = prefetch_enabled() if enabled is None else enabled
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-prefetch")
        self._futures: dict[int, Future[Prepared]] = {}
        self._con: duckdb.DuckDBPyConnection | None = None  # the worker thread's; opened on first use
        self._closed = False

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """The in-memory connection of the pool's one worker thread (never touches the warehouse)."""
        if self._con is None:
            self._con = duckdb.connect()
            self._con.execute("set enable_progress_bar = false")
            self._con.execute("set threads = 1")
            self._con.execute(f"set memory_limit = '{PREFETCH_MEMORY_LIMIT}'")
        return self._con

    def _run(self, i: int) -> Prepared:
        item = self._items[i]
        return prepare(item, self._fast, self._connection() if item.key_sets_query else None)

    def _submit_through(self, last: int) -> None:
        for j in range(min(last, len(self._items) - 1) + 1):
            if j not in self._futures:
                self._futures[j] = self._pool.submit(self._run, j)

    def get(self, i: int) -> Prepared:
        """Item i's checksum and pre-checks; queues the next ``ahead`` items for the background thread.

        Disabled: the checksum is computed here and the key lists are left to the loader.
        """
        if not self._enabled:
            return prepare(PrefetchItem(self._items[i].path), self._fast)
        self._submit_through(i + self._ahead)
        try:
            return self._futures.pop(i).result()
        except Exception:
            # e.g. the file vanished: compute inline so the loader sees the error where it always did
            return prepare(PrefetchItem(self._items[i].path), self._fast)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for f in self._futures.values():
            f.cancel()
        if self._con is not None:
            try:
                self._con.interrupt()
            except duckdb.Error:
                pass
        self._pool.shutdown(wait=True)
        if self._con is not None:
            self._con.close()
