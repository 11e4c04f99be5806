"""Fast path for clean JSON-lines extracts: one parse, one validated insert, no staging copy.

The general reader (``loading_readers.scan_jsonl``) reads every physical line as
text and parses it per row, so that one broken line becomes a row reject instead
of failing the file, and it stages the whole file in a temporary table before
copying good rows to raw. That costs about three times DuckDB's own read.

Most delivered files are clean. For those, this path:

1. checks the file in one streaming pass of DuckDB's JSON reader
   (``read_ndjson_objects``, grouped by key list): every record's keys are
   distinct contract columns (no schema drift to keep), and the number of
   records equals the number of physical lines, counted while hashing (no blank
   lines, so record k is line k);
2. inserts straight into ``raw.<table>`` from ``read_json`` (contract columns as
   VARCHAR), numbering rows with ``row_number() over ()`` in file order and
   keeping only rows that break no rule (the same SQL predicate as the general
   path, ``loading_sql.bad_row_expr``); ``read_json`` itself fails on a line that
   is not valid JSON, not an object, or repeats a key;
3. checks every record was inserted (no rule broken) and no key repeats.

If any check fails, or DuckDB cannot parse the file, the caller rolls back and
loads the file with the general reader, which yields exactly the outcome it
always did (row rejects naming file, line and rule). So the fast path never
decides an outcome other than "every row loaded"; it is only faster.

Set ``SEGMENTS_JSONL_FAST_PATH=0`` to always use the general reader.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from segmentation.contracts import Source
from segmentation.loading_formats import FileKind
from segmentation.loading_sql import EXTRA_COLUMN, bad_row_expr, lit, q

FAST_PATH_ENV = "SEGMENTS_JSONL_FAST_PATH"


def fast_path_enabled() -> bool:
    return os.environ.get(FAST_PATH_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass
class FastResult:
    ok: bool
    rows_loaded: int = 0
    why_not: str | None = None   # reason the general reader must load the file (ok = False)


def _compression(kind: FileKind) -> str:
    return "gzip" if kind.gzip else "none"


def _contract_list(source: Source) -> str:
    return "[" + ", ".join(lit(c) for c in source.column_names) + "]"


MAX_KEY_SETS = 1000  # more distinct key lists than this: not a regular extract, use the general reader


def key_sets_sql(path: Path, kind: FileKind, source: Source) -> str:
    """Distinct key lists of the file's records, with their record counts (one streaming pass).

    Rows: (is_contract, keys, count). Records whose key list is exactly the contract's
    columns in contract order (what regular extracts deliver) are counted under
    is_contract = true with keys NULL, so the grouping hashes a NULL instead of a list of
    every record's keys; ``key_sets_of`` turns the rows back into (keys, count).
    """
    contract = _contract_list(source)
    return (f"select ks = {contract} as is_contract, case when ks = {contract} then null else ks end as other, "
            f"count(*) from (select json_keys(json) as ks from read_ndjson_objects({lit(str(path))}, "
            f"compression = {lit(_compression(kind))})) group by all limit {MAX_KEY_SETS + 1}")


def key_sets_of(rows: list[tuple], source: Source) -> list[tuple[list[str] | None, int]]:
    """(keys, record count) per distinct key list, from the rows of ``key_sets_sql``."""
    return [(list(source.column_names) if is_contract else other, n) for is_contract, other, n in rows]


def count_lines_sql(path: Path, kind: FileKind) -> str:
    """Physical lines of a (compressed) text file, blank ones included."""
    return (f"select count(*) from read_csv({lit(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, "
            f"delim = '\\x01', quote = '', escape = '', compression = {lit(_compression(kind))})")


def insert_sql(path: Path, source: Source, kind: FileKind, now_utc: datetime, file_name: str, sha: str,
               batch_id: str, stamp: str) -> str:
    """Insert every rule-abiding record of the file into raw, numbered in file order."""
    spec = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in source.column_names) + "}"
    reader = (f"read_json({lit(str(path))}, format = 'newline_delimited', columns = {spec}, "
              f"compression = {lit(_compression(kind))})")
    cols = ", ".join(q(x) for x in source.column_names)
    return (
        f"insert into raw.{q(source.table)} ({cols}, _file_name, _file_sha256, _batch_id, _row_number, "
        f"_loaded_at, {q(EXTRA_COLUMN)})\n"
        f"select {cols}, {lit(file_name)}, {lit(sha)}, {lit(batch_id)}, _rn, {stamp}, null::varchar\n"
        f"from (select *, row_number() over () as _rn, {bad_row_expr(source, now_utc)} as _bad from {reader})\n"
        f"where not _bad")


def duplicate_keys_sql(source: Source) -> str:
    """Count of keys inserted more than once for one file (parameter: sha256)."""
    keys = ", ".join(q(k) for k in source.key)
    return (f"select count(*) from (select 1 from raw.{q(source.table)} where _file_sha256 = ? "
            f"group by {keys} having count(*) > 1)")


def load_clean_jsonl(con, path: Path, source: Source, kind: FileKind, sha: str, physical_lines: int | None,
                     batch_id: str, stamp: str, now_utc: datetime,
                     key_sets: list[tuple] | None = None) -> FastResult:
    """Try the fast path inside the caller's open transaction (the caller rolls back unless ok).

    ``physical_lines`` is the file's line count when the caller already knows it
    (counted while hashing); otherwise it is counted here. ``key_sets`` is the result
    of ``key_sets_sql`` when it was already run on this file (loading_prefetch, on
    the other core while the previous file inserted); otherwise it is run here.
    """
    if key_sets is None:
        key_sets = con.execute(key_sets_sql(path, kind, source)).fetchall()
    if len(key_sets) > MAX_KEY_SETS:
        return FastResult(False, why_not=f"more than {MAX_KEY_SETS} distinct key sets")
    contract = set(source.column_names)
    key_sets = key_sets_of(key_sets, source)
    for keys, _ in key_sets:
        if keys is None or not set(keys) <= contract or len(set(keys)) != len(keys):
            return FastResult(False, why_not=f"keys {keys} are not distinct contract columns (drift or not an object)")
    records = sum(n for _, n in key_sets)
    if records == 0:
        return FastResult(False, why_not="no records")
    if physical_lines is None:
        physical_lines = con.execute(count_lines_sql(path, kind)).fetchone()[0]
    if physical_lines != records:
        return FastResult(False, why_not=f"{physical_lines} lines but {records} records (blank lines)")
    inserted = con.execute(insert_sql(path, source, kind, now_utc, path.name, sha, batch_id, stamp)).fetchone()[0]
    if inserted != records:
        return FastResult(False, why_not=f"{records - inserted} row(s) break a rule")
    dups = con.execute(duplicate_keys_sql(source), [sha]).fetchone()[0]
    if dups:
        return FastResult(False, why_not=f"{dups} key(s) repeat inside the file")
    return FastResult(True, rows_loaded=inserted)


def load_clean_csv(con, path: Path, source: Source, scan_select: str, extra_sql: str, sha: str,
                   physical_lines: int, batch_id: str, stamp: str) -> FastResult:
    """CSV: insert straight from the general reader's select (``scan_csv``), numbered in file order.

    Taken only when every physical line after the header became a loaded row: a row
    that breaks a rule, a line the scanner rejects, a blank line or a quoted line
    break all make the counts differ, and the caller rolls back to the general path.
    """
    cols = ", ".join(q(x) for x in source.column_names)
    inserted = con.execute(
        f"insert into raw.{q(source.table)} ({cols}, _file_name, _file_sha256, _batch_id, _row_number, "
        f"_loaded_at, {q(EXTRA_COLUMN)})\n"
        f"select {cols}, {lit(path.name)}, {lit(sha)}, {lit(batch_id)}, _rn, {stamp}, {extra_sql}\n"
        f"from (select *, row_number() over () as _rn from ({scan_select})) where not _bad").fetchone()[0]
    if inserted == 0 or inserted != physical_lines - 1:
        return FastResult(False, why_not=f"{inserted} row(s) loaded of {physical_lines - 1} line(s) after the header")
    dups = con.execute(duplicate_keys_sql(source), [sha]).fetchone()[0]
    if dups:
        return FastResult(False, why_not=f"{dups} key(s) repeat inside the file")
    return FastResult(True, rows_loaded=inserted)
