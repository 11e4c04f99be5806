"""Load delivered extracts into the raw layer, losing nothing and loading nothing twice.

``load_new_files`` scans ``<landing>/<source>/`` for every source in
``contracts.SOURCES`` and loads each file it has not loaded before into
``raw.<table>``: contract columns as delivered (VARCHAR), load metadata, and
``_extra`` (JSON of unknown columns). Each file is loaded in one DuckDB
transaction together with its ledger row and its rejected rows, so a crash at
any point leaves either the whole file or nothing; the next run finishes the
job. Files are identified by SHA-256 of their content (``meta.load_ledger``).

Outcomes per file (see docs/ingestion.md for the full table):

- ``loaded``       good rows in raw, bad rows in ``meta.rejected_rows`` with a reason
- ``duplicate``    same content already loaded (under any name): nothing loaded
- ``quarantined``  the file as a whole cannot be loaded; moved to
                   ``<quarantine>/<source>/`` with ``<name>.reason.txt``
- ``pending``      the file looks still being written; left for the next run
- ``already_loaded`` seen before (same path, size, mtime): not even re-hashed
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from segmentation.inprocess import release_inprocess_dbt
from segmentation.config import Settings
from segmentation.contracts import SOURCES, Source
from segmentation.errors import ExtractError
from segmentation.loading_formats import (
    FileKind,
    check_content,
    is_in_progress_name,
    is_sidecar_name,
    kind_from_name,
    sha256_of,
)
from segmentation.loading_fast import fast_path_enabled, key_sets_sql, load_clean_csv, load_clean_jsonl
from segmentation.loading_prefetch import PrefetchItem, Prefetcher, Prepared, prepare
from segmentation.loading_readers import (
    ENCODINGS,
    EncodingMismatch,
    FileScan,
    collect_scanner_rejects,
    drop_scanner_rejects,
    scan_csv,
    scan_jsonl,
    scan_parquet,
    sample_json_keys,
    violations_select,
)
from segmentation.loading_sql import EXTRA_COLUMN, ensure_schema_sql, lit, q

log = logging.getLogger(__name__)

# A file modified less than this many seconds ago is watched for that long; if it
# still grows or changes, it is left for the next run (docs/ingestion.md).
# Override with SEGMENTS_SETTLE_SECONDS.
DEFAULT_SETTLE_SECONDS = 2.0
DEFAULT_MEMORY_LIMIT = "1GB"
# Files loaded at once (load_workers); bench/RESULTS.md "Loader throughput" has the measurements.
LOAD_WORKERS_ENV = "SEGMENTS_LOAD_WORKERS"
DEFAULT_LOAD_WORKERS = 2
REASON_SUFFIX = ".reason.txt"
_QUARANTINE_LOCK = threading.Lock()


@dataclass
class FileOutcome:
    path: str
    source: str
    status: str               # loaded | duplicate | quarantined | pending | already_loaded
    sha256: str | None = None
    rows_loaded: int = 0
    rows_rejected: int = 0
    error: str | None = None
    schema_drift: str | None = None
    rule: str | None = None


@dataclass
class LoadReport:
    batch_id: str
    files: list[FileOutcome] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)  # rows of erased people removed (privacy)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def quarantined(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "quarantined"]

    def summary(self) -> str:
        head = (f"batch {self.batch_id}: {self.count('loaded')} file(s) loaded, {self.rows_loaded} row(s), "
                f"{self.rows_rejected} row(s) rejected; {self.count('duplicate')} duplicate, "
                f"{self.count('quarantined')} quarantined, {self.count('pending')} pending, "
                f"{self.count('already_loaded')} already loaded")
        lines = [head]
        for f in self.files:
            if f.status == "quarantined":
                lines.append(f"  quarantined {Path(f.path).name}: {f.error}")
            elif f.status == "pending":
                lines.append(f"  pending {Path(f.path).name}: {f.error}")
            elif f.status == "loaded" and (f.rows_rejected or f.schema_drift):
                note = f"{f.rows_rejected} row(s) rejected" + (f"; {f.schema_drift}" if f.schema_drift else "")
                lines.append(f"  loaded {Path(f.path).name} with {note}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Small, JSON-serialisable form (for XCom)."""
        return {"batch_id": self.batch_id, "rows_loaded": self.rows_loaded, "rows_rejected": self.rows_rejected,
                "files": [asdict(f) for f in self.files]}


# --------------------------------------------------------------------------- connection

def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    release_inprocess_dbt()
    con = duckdb.connect(str(settings.warehouse))
    _configure(con)
    con.execute("set preserve_insertion_order = true")  # row numbers come from insertion order
    # Bounded memory for any file size: beyond this DuckDB spills to <warehouse>.tmp/.
    memory_limit = os.environ.get("SEGMENTS_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    con.execute(f"set memory_limit = {lit(memory_limit)}")
    return con


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    """Settings of one connection (each cursor of a parallel load has its own)."""
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for stmt in ensure_schema_sql():
        con.execute(stmt)


# --------------------------------------------------------------------------- discovery

@dataclass(frozen=True)
class Candidate:
    path: Path
    source: Source
    size: int
    mtime_ns: int


def discover(settings: Settings) -> tuple[list[Candidate], list[FileOutcome]]:
    """Files ready to look at, and files skipped because a writer is not done (temp names)."""
    ready: list[Candidate] = []
    skipped: list[FileOutcome] = []
    for source in SOURCES.values():
        folder = settings.landing / source.name
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel_parts = path.relative_to(folder).parts
            if any(is_in_progress_name(part) for part in rel_parts):
                skipped.append(FileOutcome(str(path), source.name, "pending",
                                           error="temporary/hidden name: a writer is still producing it"))
                continue
            if is_sidecar_name(path.name):
                continue
            st = path.stat()
            ready.append(Candidate(path, source, st.st_size, st.st_mtime_ns))
    return ready, skipped


def settle(candidates: list[Candidate], settle_seconds: float) -> tuple[list[Candidate], list[FileOutcome]]:
    """Wait once for files modified within ``settle_seconds``; drop those that keep changing."""
    if settle_seconds <= 0 or not candidates:
        return candidates, []
    newest = max(c.mtime_ns for c in candidates) / 1e9
    wait = settle_seconds - (time.time() - newest)
    if wait <= 0:
        return candidates, []
    time.sleep(min(wait, settle_seconds))
    ok: list[Candidate] = []
    changing: list[FileOutcome] = []
    for c in candidates:
        try:
            st = c.path.stat()
        except FileNotFoundError:
            continue
        if (st.st_size, st.st_mtime_ns) == (c.size, c.mtime_ns):
            ok.append(c)
        else:
            changing.append(FileOutcome(str(c.path), c.source.name, "pending",
                                        error=f"file changed during the last {settle_seconds:g}s: still being written"))
    return ok, changing


# --------------------------------------------------------------------------- ledger

def _ledger_by_path(con, c: Candidate) -> str | None:
    row = con.execute(
        "select status from meta.load_ledger where file_path = ? and size_bytes = ? and file_mtime_ns = ? "
        "and status in ('loaded', 'duplicate') limit 1",
        [str(c.path), c.size, c.mtime_ns]).fetchone()
    return row[0] if row else None


def _ledger_by_sha(con, sha: str) -> tuple[str, str, str | None, str | None] | None:
    """(status, file_name, error) of the deciding ledger row for this content."""
    row = con.execute(
        "select status, file_name, error, error_rule from meta.load_ledger where sha256 = ? and status in ('loaded', 'quarantined') "
        "order by case status when 'loaded' then 0 else 1 end, finished_at desc limit 1", [sha]).fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None


def _same_path_loaded(con, c: Candidate, sha: str) -> bool:
    row = con.execute("select count(*) from meta.load_ledger where file_path = ? and sha256 = ? "
                      "and status in ('loaded', 'duplicate')", [str(c.path), sha]).fetchone()
    return row[0] > 0


def _insert_ledger(con, c: Candidate, sha: str, status: str, batch_id: str, started: datetime,
                   rows_loaded: int = 0, rows_rejected: int = 0, error: str | None = None,
                   drift: str | None = None, fmt: str | None = None, encoding: str | None = None,
                   rule: str | None = None) -> None:
    con.execute(
        "insert into meta.load_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [str(c.path), c.path.name, c.source.name, sha, c.size, rows_loaded, rows_rejected, status, error,
         batch_id, started, _utcnow(), drift, fmt, encoding, c.mtime_ns, rule])


# --------------------------------------------------------------------------- public API

def load_new_files(settings: Settings, batch_id: str | None = None, now: datetime | None = None,
                   *, settle_seconds: float | None = None) -> LoadReport:
    """Load every landed file not loaded before. Safe to re-run and to retry after a crash."""
    now_utc = _as_utc(now) if now is not None else datetime.now(timezone.utc)
    batch_id = batch_id or "load-" + now_utc.strftime("%Y%m%dT%H%M%SZ")
    report = LoadReport(batch_id)
    candidates, skipped = discover(settings)
    report.files.extend(skipped)
    con = connect(settings)
    try:
        ensure_tables(con)
        fresh = [c for c in candidates if _ledger_by_path(con, c) is None]
        report.files.extend(FileOutcome(str(c.path), c.source.name, "already_loaded")
                            for c in candidates if c not in fresh)
        if settle_seconds is None:
            settle_seconds = float(os.environ.get("SEGMENTS_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))
        ready, changing = settle(fresh, settle_seconds)
        report.files.extend(changing)
        fast = fast_path_enabled()
        workers = min(load_workers(), len(ready))
        if workers > 1:
            report.files.extend(_load_parallel(con, settings, ready, batch_id, now_utc, fast, workers))
        else:
            # With SEGMENTS_LOAD_PREFETCH=1 the next file is hashed (and its JSON keys listed) on another
            # thread while this one inserts; off by default, then each file is prepared inline
            # (loading_prefetch.py).
            with Prefetcher([_prefetch_item(c, fast) for c in ready], fast) as prefetch:
                for i, c in enumerate(ready):
                    outcome = _process(con, settings, c, batch_id, now_utc, prefetch.get(i))
                    report.files.append(outcome)
        # Privacy (docs/privacy.md): rows of people erased before are deleted right after
        # the load, so a later extract that still contains them does not bring them back.
        from segmentation.privacy import apply_suppression

        report.suppressed = apply_suppression(con)
    finally:
        con.close()
    for f in report.files:
        if f.status == "quarantined":
            log.warning("quarantined %s: %s", f.path, f.error)
    log.info(report.summary().splitlines()[0])
    return report


def requeue(settings: Settings, names: list[str]) -> list[Path]:
    """Move quarantined files (all if ``names`` is empty) back to landing so the next load retries them.

    The ledger rows that quarantined this exact content are marked ``requeued`` so
    the loader evaluates the file again (e.g. after the contract or loader was fixed);
    a file edited in quarantine simply has a new checksum.
    """
    moved: list[Path] = []
    files = _quarantined_files(settings)
    wanted = set(names)
    unknown = wanted - {p.name for p in files}
    if unknown:
        raise ExtractError(", ".join(sorted(unknown)), "not_in_quarantine",
                           f"no such file under {settings.quarantine}")
    con = connect(settings)
    try:
        ensure_tables(con)
        for path in files:
            if wanted and path.name not in wanted:
                continue
            source = path.parent.name
            sha = sha256_of(path)
            con.execute("update meta.load_ledger set status = 'requeued' where sha256 = ? and status = 'quarantined'",
                        [sha])
            target = settings.landing / source / _original_name(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target = target.with_name(f"{target.stem}.requeued-{sha[:8]}{target.suffix}")
            os.replace(path, target)
            path.with_name(path.name + REASON_SUFFIX).unlink(missing_ok=True)
            log.info("re-queued %s -> %s", path, target)
            moved.append(target)
    finally:
        con.close()
    return moved


# --------------------------------------------------------------------------- files in parallel

def load_workers() -> int:
    """How many files load at once (``SEGMENTS_LOAD_WORKERS``; default: 2, or 1 on a 1-core machine)."""
    raw = os.environ.get(LOAD_WORKERS_ENV, "").strip()
    if not raw:
        return max(1, min(DEFAULT_LOAD_WORKERS, os.cpu_count() or 1))
    try:
        return max(1, int(raw))
    except ValueError:
        raise ValueError(f"{LOAD_WORKERS_ENV}={raw!r}: expected a whole number of files to load at once") from None


class _Dispatch:
    """Hands files to the workers in landing order, each with its checksum and its ``_loaded_at``.

    Taking a file (under one lock) hashes it and claims its content: a later file with
    the same content waits until the earlier one is committed, then finds it in the
    ledger and is recorded as a duplicate, exactly as when files load one by one. The
    stamps increase in landing order, as they do one by one.
    """

    def __init__(self, ready: list[Candidate], fast: bool) -> None:
        self._ready = ready
        self._fast = fast
        self._next = 0
        self._last_stamp: datetime | None = None
        self._claimed: dict[str, int] = {}      # content being loaded -> file index
        self._cond = threading.Condition()
        self.failed = False                     # a worker raised: hand out no more files

    def take(self) -> tuple[int, Prepared, datetime] | None:
        with self._cond:
            if self.failed or self._next >= len(self._ready):
                return None
            i = self._next
            self._next += 1
            stamp = _utcnow()
            if self._last_stamp is not None and stamp <= self._last_stamp:
                stamp = self._last_stamp + timedelta(microseconds=1)
            self._last_stamp = stamp
            prepared = prepare(PrefetchItem(self._ready[i].path), self._fast)
            while prepared.sha in self._claimed and not self.failed:
                self._cond.wait()  # releases the lock: the other worker goes on with later files
            if self.failed:
                return None
            self._claimed[prepared.sha] = i
            return i, prepared, stamp

    def done(self, sha: str) -> None:
        with self._cond:
            self._claimed.pop(sha, None)
            self._cond.notify_all()

    def fail(self) -> None:
        with self._cond:
            self.failed = True
            self._cond.notify_all()


def _load_parallel(con, settings: Settings, ready: list[Candidate], batch_id: str, now_utc: datetime, fast: bool,
                   workers: int) -> list[FileOutcome]:
    """Load ``ready`` with ``workers`` files at once, each in its own transaction on its own cursor.

    Why: a clean file's insert numbers its rows with ``row_number() over ()``, which DuckDB
    runs on one core, so one file at a time leaves the other core mostly idle. Appends
    to the same raw table from two transactions do not conflict in DuckDB, and every
    file still commits its rows, rejects and ledger row together or not at all. The
    outcomes come back in landing order.
    """
    dispatch = _Dispatch(ready, fast)
    outcomes: list[FileOutcome | None] = [None] * len(ready)

    def work() -> None:
        cur = con.cursor()
        try:
            _configure(cur)
            while (taken := dispatch.take()) is not None:
                i, prepared, stamp = taken
                try:
                    outcomes[i] = _process(cur, settings, ready[i], batch_id, now_utc, prepared, stamp)
                finally:
                    dispatch.done(prepared.sha)
        except BaseException:
            dispatch.fail()
            raise
        finally:
            cur.close()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        futures = [pool.submit(work) for _ in range(workers)]
    for f in futures:
        f.result()  # the first worker's error, if any (the others stopped taking files)
    return [o for o in outcomes if o is not None]


# --------------------------------------------------------------------------- one file

def _prefetch_item(c: Candidate, fast: bool) -> PrefetchItem:
    """What the background thread may read ahead for this file: always its checksum; on the
    fast path, for JSON lines, also its key lists (loading_fast.key_sets_sql)."""
    if not fast:
        return PrefetchItem(c.path)
    try:
        kind = kind_from_name(c.path)
    except ExtractError:
        return PrefetchItem(c.path)
    query = key_sets_sql(c.path, kind, c.source) if kind.format == "jsonl" else None
    return PrefetchItem(c.path, query)


def _process(con, settings: Settings, c: Candidate, batch_id: str, now_utc: datetime,
             prepared: Prepared, loaded_at: datetime | None = None) -> FileOutcome:
    """Load one file. ``loaded_at`` is its rows' ``_loaded_at`` (default: when its insert starts)."""
    started = _utcnow()
    sha, physical_lines = prepared.sha, prepared.physical_lines  # one read for both (loading_prefetch.prepare)
    seen = _ledger_by_sha(con, sha)
    if seen and seen[0] == "loaded" and _same_path_loaded(con, c, sha):
        # Same file, only touched (mtime changed): remember the new mtime so it is not re-hashed.
        con.execute("update meta.load_ledger set file_mtime_ns = ? where file_path = ? and sha256 = ? "
                    "and status in ('loaded', 'duplicate')", [c.mtime_ns, str(c.path), sha])
        return FileOutcome(str(c.path), c.source.name, "already_loaded", sha)
    if seen and seen[0] == "loaded":
        msg = f"same content as {seen[1]} (sha256 {sha[:12]}), already loaded: nothing loaded"
        con.execute("begin transaction")
        _insert_ledger(con, c, sha, "duplicate", batch_id, started, error=msg)
        con.execute("commit")
        log.info("duplicate %s: %s", c.path.name, msg)
        return FileOutcome(str(c.path), c.source.name, "duplicate", sha, error=msg)
    if seen and seen[0] == "quarantined":
        # The same bad content was judged before (or a crash hit between ledger and move): finish the move.
        err = ExtractError(c.path.name, seen[3] or "previously_quarantined",
                           f"same content as {seen[1]}, quarantined before: {seen[2]}")
        return _quarantine(con, settings, c, sha, batch_id, started, err, record=seen[1] != c.path.name)
    try:
        kind = kind_from_name(c.path)
        check_content(c.path, kind, c.size)
    except ExtractError as exc:
        return _quarantine(con, settings, c, sha, batch_id, started, exc)

    if kind.format in ("jsonl", "csv") and fast_path_enabled():
        outcome = _try_fast(con, c, kind, sha, physical_lines, batch_id, started, now_utc, prepared.key_sets,
                            loaded_at)
        if outcome is not None:
            return outcome

    last_exc: EncodingMismatch | None = None
    for encoding in ENCODINGS if kind.format != "parquet" else ("binary",):
        log.info("loading %s (%s, %d bytes, %s)", c.path.name, c.source.name, c.size, encoding)
        con.execute("begin transaction")
        try:
            outcome = _load_in_transaction(con, settings, c, kind, sha, encoding, batch_id, started, now_utc,
                                           loaded_at)
        except EncodingMismatch as exc:
            con.execute("rollback")
            last_exc = exc
            continue
        except ExtractError as exc:
            con.execute("rollback")
            return _quarantine(con, settings, c, sha, batch_id, started, exc)
        except duckdb.Error as exc:
            con.execute("rollback")
            if _is_environment_error(exc):  # not the file's fault: fail the run, keep the file, retry later
                raise
            rule, detail = _classify_duckdb_error(exc)
            return _quarantine(con, settings, c, sha, batch_id, started, ExtractError(c.path.name, rule, detail))
        except BaseException:
            con.execute("rollback")
            raise
        if outcome.status == "pending":
            con.execute("rollback")
        else:
            con.execute("commit")
            log.info("loaded %s: %d rows, %d rejected", c.path.name, outcome.rows_loaded, outcome.rows_rejected)
        return outcome
    err = ExtractError(c.path.name, "unknown_encoding",
                       f"not readable as {' or '.join(ENCODINGS)} ({_first_line(last_exc)})")
    return _quarantine(con, settings, c, sha, batch_id, started, err)


def _try_fast(con, c: Candidate, kind: FileKind, sha: str, physical_lines: int | None, batch_id: str,
              started: datetime, now_utc: datetime,
              key_sets: list[tuple] | None = None, loaded_at: datetime | None = None) -> FileOutcome | None:
    """Load a clean JSON-lines or CSV file on the fast path (loading_fast.py); None: use the general reader.

    The fast path only ever loads every row of a file; anything else (a rejected row,
    a parse error, drift in JSON keys, ...) is rolled back and left to the general reader.
    """
    src = c.source
    if kind.format == "jsonl":
        sample = sample_json_keys(c.path, kind)
        if sample is None or any(col not in sample for col in src.required_columns):
            return None  # the general reader gives the defined outcome (quarantine or row rejects)
        scan = FileScan("", "utf-8", [], [col for col in src.column_names if col not in sample])
    else:
        if kind.gzip or physical_lines is None:
            return None  # lines are counted while hashing plain files only
        try:
            scan = scan_csv(c.path, src, kind, "utf-8", now_utc)
        except ExtractError:
            return None
    stamp = f"{lit((loaded_at or _utcnow()).isoformat(sep=' '))}::timestamp"
    log.info("loading %s (%s, %d bytes, utf-8, fast path)", c.path.name, src.name, c.size)
    con.execute("begin transaction")
    try:
        if kind.format == "jsonl":
            result = load_clean_jsonl(con, c.path, src, kind, sha, physical_lines, batch_id, stamp, now_utc,
                                      key_sets)
        else:
            drop_scanner_rejects(con)
            result = load_clean_csv(con, c.path, src, scan.select, q(EXTRA_COLUMN), sha, physical_lines,
                                    batch_id, stamp)
            drop_scanner_rejects(con)
        if result.ok:
            st = c.path.stat()
            if (st.st_size, st.st_mtime_ns) != (c.size, c.mtime_ns):
                result.ok, result.why_not = False, "file changed while it was being loaded"
    except duckdb.Error as exc:
        con.execute("rollback")
        if _is_environment_error(exc):
            raise
        log.info("%s: general reader (fast path: %s)", c.path.name, _first_line(exc))
        return None
    except BaseException:
        con.execute("rollback")
        raise
    if not result.ok:
        con.execute("rollback")
        log.info("%s: general reader (fast path: %s)", c.path.name, result.why_not)
        return None
    drift = scan.drift()
    _insert_ledger(con, c, sha, "loaded", batch_id, started, result.rows_loaded, 0, None, drift,
                   kind.format + (".gz" if kind.gzip else ""), "utf-8")
    con.execute("commit")
    log.info("loaded %s: %d rows, 0 rejected (fast path)", c.path.name, result.rows_loaded)
    return FileOutcome(str(c.path), src.name, "loaded", sha, result.rows_loaded, 0, None, drift)


def _load_in_transaction(con, settings: Settings, c: Candidate, kind: FileKind, sha: str, encoding: str,
                         batch_id: str, started: datetime, now_utc: datetime,
                         loaded_at: datetime | None = None) -> FileOutcome:
    """Load one file inside the caller's open transaction; the caller commits or rolls back.

    1. Parse and validate the whole file into a temporary table (parallel; spills to disk
       beyond the memory limit), numbering records in file order (``_seq``).
    2. Copy good rows to raw, minus later repeats of a key; write every broken rule of
       bad rows, duplicate keys and unparseable lines to meta.rejected_rows.
    3. Check every row went one way or the other; write the ledger row.
    """
    src = c.source
    tag = sha[:16]
    stage, gaps, dups = f"_load_stage_{tag}", f"_load_gaps_{tag}", f"_load_dups_{tag}"  # temporary tables
    if kind.format == "csv":
        scan = scan_csv(c.path, src, kind, encoding, now_utc)
    elif kind.format == "jsonl":
        scan = scan_jsonl(c.path, src, kind, encoding, now_utc)
    else:
        scan = scan_parquet(con, c.path, src, kind, now_utc, settings.warehouse.parent / ".load_tmp")
    try:
        drop_scanner_rejects(con)
        # row_number() over () follows the scan's order; a temp table's rowids do not always
        # (a parallel insert could put the 2nd row group of a big JSON-lines file first).
        con.execute(f"create temp table {stage} as select *, row_number() over () as _seq from ({scan.select})")
        malformed = ([] if scan.scanner_header_lines is None
                     else collect_scanner_rejects(con, scan.scanner_header_lines))
        drop_scanner_rejects(con)
    finally:
        for p in scan.cleanup:
            p.unlink(missing_ok=True)

    rows = f"(select *, {_row_number_sql(con, stage, gaps, malformed)} as _row_number from {stage} _st where not _skip)"
    keys = ", ".join(q(k) for k in src.key)
    con.execute(f"create temp table {dups} as select s._row_number, k.first_row from {rows} s join "
                f"(select {keys}, min(_row_number) as first_row from {rows} where not _bad group by {keys} "
                f"having count(*) > 1) k using ({keys}) where not s._bad and s._row_number > k.first_row")
    raw = f"raw.{q(src.table)}"
    loaded_at = loaded_at or _utcnow()
    stamp = f"{lit(loaded_at.isoformat(sep=' '))}::timestamp"
    cols = ", ".join(q(x) for x in src.column_names)
    con.execute(
        f"insert into {raw} ({cols}, _file_name, _file_sha256, _batch_id, _row_number, _loaded_at, {q(EXTRA_COLUMN)}) "
        f"select {cols}, {lit(c.path.name)}, {lit(sha)}, {lit(batch_id)}, _row_number, {stamp}, {q(EXTRA_COLUMN)} "
        f"from {rows} r where not _bad and not exists (select 1 from {dups} d where d._row_number = r._row_number)")

    record = ("coalesce(_record, json_object(" + ", ".join(f"{lit(x)}, {q(x)}" for x in src.column_names)
              + f", '_extra', {q(EXTRA_COLUMN)}::json)::varchar)")
    common = f"{lit(c.path.name)}, {lit(sha)}, {lit(src.name)}"
    con.execute(
        f"insert into meta.rejected_rows select {common}, _row_number, v.column, v.rule, v.value, "
        f"case when v.column is null then 'row ' || _row_number || ': ' || v.reason else v.reason end, "
        f"{lit(batch_id)}, {stamp}, rec from (select _row_number, unnest({violations_select(src, now_utc)}) as v, "
        f"{record} as rec from {rows} where _bad)")
    key_names = ", ".join(src.key)
    key_vals = " || ', ' || ".join(f"coalesce(s.{q(k)}, '')" for k in src.key)
    con.execute(
        f"insert into meta.rejected_rows select {common}, s._row_number, {lit(key_names)}, 'duplicate_key', "
        f"{key_vals}, 'duplicate key ({key_names}) = (' || {key_vals} || '): first seen at row ' || d.first_row "
        f"|| ', this row rejected', {lit(batch_id)}, {stamp}, {record.replace('_record', 's._record')} "
        f"from {dups} d join {rows} s on s._row_number = d._row_number")
    for row, line, message in malformed:
        con.execute("insert into meta.rejected_rows values (?, ?, ?, ?, null, 'malformed_row', ?, ?, ?, ?, ?)",
                    [c.path.name, sha, src.name, row, line, f"row {row} cannot be parsed: {message}",
                     batch_id, loaded_at, line])

    parsed = con.execute(f"select count(*) from {stage} where not _skip").fetchone()[0]
    rows_loaded = con.execute(f"select count(*) from {raw} where _file_sha256 = ?", [sha]).fetchone()[0]
    rows_rejected = con.execute(
        "select count(distinct row_number) from meta.rejected_rows where sha256 = ?", [sha]).fetchone()[0]
    if rows_loaded + rows_rejected != parsed + len(malformed):  # every row is loaded or rejected, never lost
        raise ExtractError(c.path.name, "row_count_mismatch",
                           f"{parsed + len(malformed)} rows read but {rows_loaded} loaded and {rows_rejected} "
                           f"rejected; nothing was loaded")
    extras = scan.extra_columns
    if scan.extras_known_after_load:
        extras = [k for (k,) in con.execute(
            f"select distinct unnest(json_keys({q(EXTRA_COLUMN)})) as k from {stage} "
            f"where {q(EXTRA_COLUMN)} is not null order by k").fetchall()]
    for t in (stage, gaps, dups):
        con.execute(f"drop table if exists {t}")

    st = c.path.stat()
    if (st.st_size, st.st_mtime_ns) != (c.size, c.mtime_ns):
        return FileOutcome(str(c.path), src.name, "pending", sha,
                           error="file changed while it was being loaded: still being written; retried next run")
    note = "header only: no data rows" if parsed + len(malformed) == 0 else None
    drift = scan.drift(extras)
    _insert_ledger(con, c, sha, "loaded", batch_id, started, rows_loaded, rows_rejected, note, drift,
                   kind.format + (".gz" if kind.gzip else ""), encoding)
    return FileOutcome(str(c.path), src.name, "loaded", sha, rows_loaded, rows_rejected, note, drift)


def _row_number_sql(con, stage: str, gaps: str, malformed: list[tuple[int, str | None, str]]) -> str:
    """SQL for the 1-based data row number of a staged row (alias ``_st``).

    Parquet rows carry it (``_line_no``). Otherwise it is the record's position in the
    scan (``_seq``, from ``row_number() over ()`` while staging). Lines the CSV scanner
    could not parse are not in the table; good row k comes after dropped line j (1-based,
    at row r_j) iff k > r_j - j, so k is shifted by the count of such j.
    """
    k = "_st._seq"
    if malformed:
        con.execute(f"create or replace temp table {gaps} (g bigint)")
        bad = sorted(r[0] for r in malformed)
        con.executemany(f"insert into {gaps} values (?)", [[b - j] for j, b in enumerate(bad, start=1)])
        k = f"({k} + (select count(*) from {gaps} where g < {k}))"
    return f"coalesce(_line_no, {k})"


# --------------------------------------------------------------------------- quarantine

def _quarantine(con, settings: Settings, c: Candidate, sha: str, batch_id: str, started: datetime,
                exc: ExtractError, record: bool = True) -> FileOutcome:
    """Ledger first (committed), then move: a crash in between is finished by the next run."""
    if record:
        con.execute("begin transaction")
        _insert_ledger(con, c, sha, "quarantined", batch_id, started, error=str(exc), rule=exc.rule)
        con.execute("commit")
    target_dir = settings.quarantine / c.source.name
    target_dir.mkdir(parents=True, exist_ok=True)
    # One move at a time: two workers quarantining files of the same name (from other
    # folders) must not both pick the same free target and overwrite each other.
    with _QUARANTINE_LOCK:
        target = target_dir / c.path.name
        if target.exists() and sha256_of(target) != sha:
            target = target_dir / f"{c.path.stem}.{sha[:8]}{c.path.suffix}"
        reason = target.with_name(target.name + REASON_SUFFIX)
        reason.write_text(
            f"file: {c.path.name}\nsource: {c.source.name}\nsha256: {sha}\nrule: {exc.rule}\n"
            f"reason: {exc}\nbatch: {batch_id}\nquarantined_at: {_utcnow().isoformat()}Z\n"
            f"original_path: {c.path}\n\n"
            f"Fix the file here (or fix the contract/loader), then run:\n  segments requeue {target.name}\n",
            encoding="utf-8")
        _move(c.path, target)
    return FileOutcome(str(c.path), c.source.name, "quarantined", sha, error=str(exc), rule=exc.rule)


def _move(src: Path, dst: Path) -> None:
    shutil.move(str(src), str(dst))


def _quarantined_files(settings: Settings) -> list[Path]:
    if not settings.quarantine.is_dir():
        return []
    return sorted(p for p in settings.quarantine.glob("*/*") if p.is_file() and not p.name.endswith(REASON_SUFFIX))


def _original_name(path: Path) -> str:
    reason = path.with_name(path.name + REASON_SUFFIX)
    if reason.exists():
        for line in reason.read_text(encoding="utf-8").splitlines():
            if line.startswith("file: "):
                return line[len("file: "):]
    return path.name


def _is_environment_error(exc: duckdb.Error) -> bool:
    """Out of memory, disk full, permissions: errors a retry may cure, never a reason to quarantine."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        return True
    text = str(exc).lower()
    if isinstance(exc, duckdb.IOException) and "gzip" not in text and "parquet" not in text and "magic" not in text:
        return True
    return any(s in text for s in ("no space left", "disk is full", "permission denied"))


def _classify_duckdb_error(exc: duckdb.Error) -> tuple[str, str]:
    text = _first_line(exc)
    lower = str(exc).lower()
    if "gzip" in lower:
        return "corrupt_gzip", f"gzip stream is truncated or corrupt ({text}); re-deliver the complete file"
    if "parquet" in lower or "magic" in lower:
        return "unreadable_parquet", f"Parquet file cannot be read ({text})"
    return "unreadable_file", f"DuckDB cannot read the file ({text})"


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
