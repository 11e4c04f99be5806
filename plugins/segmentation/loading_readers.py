"""Turn one delivered file into one SQL select over DuckDB's own scanners.

A reader returns a ``FileScan`` whose select yields, per physical record,

    <contract columns>  VARCHAR as delivered (NULL when the file lacks an optional column)
    _extra              JSON object of columns the contract does not know, else NULL
    _line_no            1-based data row number when the scanner knows it (Parquet), else NULL:
                        the loader then numbers rows by insertion order (see loading.py)
    _skip               true for blank JSON lines (kept only so numbering counts them)
    _record             the delivered line (JSON lines, bad rows only), else NULL
    _error, _error_reason  set when the line could not be read as a record at all
    _bad                the row breaks a rule (cheap boolean; reasons are computed only for bad rows)

The loader materialises this select once into a temporary table (parsing and
validating in parallel; DuckDB spills it to disk beyond its memory limit),
then copies good rows to raw and writes reasons for bad ones.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from segmentation.contracts import Source
from segmentation.errors import ExtractError
from segmentation.loading_formats import UTF8_BOM, FileKind, inner_head, read_csv_header
from segmentation.loading_sql import bad_row_expr, lit, q, violations_expr

CSV_REJECTS_TABLE = "_load_csv_rejects"
CSV_REJECTS_SCAN = "_load_csv_scans"
ENCODINGS = ("utf-8", "latin-1")


@dataclass
class FileScan:
    select: str                 # see module doc
    encoding: str
    extra_columns: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    scanner_header_lines: int | None = None  # CSV scanner rejects to collect (lines above data row 1)
    extras_known_after_load: bool = False   # JSON: keys differ per line, read them from _extra afterwards
    cleanup: list[Path] = field(default_factory=list)

    def drift(self, extra_columns: list[str] | None = None) -> str | None:
        extras = self.extra_columns if extra_columns is None else extra_columns
        parts = []
        if extras:
            parts.append("extra columns kept in _extra: " + ", ".join(extras))
        if self.missing_optional:
            parts.append("optional columns absent (NULL): " + ", ".join(self.missing_optional))
        return "; ".join(parts) or None


class EncodingMismatch(Exception):
    """The file is not valid in the encoding tried; the caller retries with the next one."""


def _match_columns(file_name: str, source: Source, delivered: list[str],
                   case_insensitive: bool = True) -> tuple[dict[str, str], list[str], list[str]]:
    """Map contract column -> delivered column (exact, else case-insensitive and trimmed)."""
    by_norm: dict[str, str] = {}
    for name in delivered:
        by_norm.setdefault(name.strip().lower(), name)
    mapping: dict[str, str] = {}
    for col in source.column_names:
        if col in delivered:
            mapping[col] = col
        elif case_insensitive and col.lower() in by_norm:
            mapping[col] = by_norm[col.lower()]
    missing_required = [c for c in source.required_columns if c not in mapping]
    if missing_required:
        raise ExtractError(file_name, "missing_required_column",
                           f"required column(s) {', '.join(missing_required)} not in the file "
                           f"(found: {', '.join(delivered) or 'none'}); nothing was loaded",
                           column=missing_required[0])
    used = set(mapping.values())
    extras = [d for d in delivered if d not in used]
    missing_optional = [c for c in source.column_names if c not in mapping]
    return mapping, extras, missing_optional


def _extra_json(extras: list[str], value_of) -> str:
    if not extras:
        return "null::varchar"
    pairs = ", ".join(f"{lit(e)}, {value_of(e)}" for e in extras)
    return f"json_object({pairs})::varchar"


def _with_flags(source: Source, inner: str, now_utc: datetime) -> str:
    """Add the ``_bad`` flag; keep the delivered line only for bad rows."""
    return (f"select * replace (case when _bad then _record end as _record) from (\n"
            f"select *, (not _skip and (_error is not null or {bad_row_expr(source, now_utc)})) as _bad\n"
            f"from ({inner}))")


def violations_select(source: Source, now_utc: datetime) -> str:
    """SQL expression listing a bad row's violations (structs column/rule/value/reason)."""
    return (f"case when _error is not null then "
            f"[{{'column': null::varchar, 'rule': _error, 'value': _record, 'reason': _error_reason}}] "
            f"else {violations_expr(source, now_utc)} end")


def collect_scanner_rejects(con, header_lines: int) -> list[tuple[int, str | None, str]]:
    exists = con.execute("select count(*) from duckdb_tables() where table_name = ?", [CSV_REJECTS_TABLE]).fetchone()[0]
    if not exists:  # DuckDB creates the table only when the scan stored something
        return []
    rows = con.execute(
        f"select line, csv_line, error_type, error_message from {CSV_REJECTS_TABLE} order by line").fetchall()
    out: dict[int, tuple[int, str | None, str]] = {}
    for line, csv_line, error_type, message in rows:
        if error_type == "INVALID ENCODING":
            raise EncodingMismatch(message)
        row = int(line) - header_lines
        out.setdefault(row, (row, csv_line, f"{error_type}: {message}"))
    return list(out.values())


def drop_scanner_rejects(con) -> None:
    con.execute(f"drop table if exists {CSV_REJECTS_TABLE}")
    con.execute(f"drop table if exists {CSV_REJECTS_SCAN}")


def scan_csv(path: Path, source: Source, kind: FileKind, encoding: str, now_utc: datetime) -> FileScan:
    header = read_csv_header(path, kind)
    mapping, extras, missing_optional = _match_columns(path.name, source, header.columns)
    cols_spec = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in header.columns) + "}"
    reader = (f"read_csv({lit(str(path))}, header = true, auto_detect = false, columns = {cols_spec}, "
              f"encoding = {lit(encoding)}, delim = {lit(header.delimiter)}, quote = '\"', escape = '\"', "
              f"store_rejects = true, rejects_table = {lit(CSV_REJECTS_TABLE)}, rejects_scan = {lit(CSV_REJECTS_SCAN)})")
    cols = [f"{q(mapping[c])} as {q(c)}" if c in mapping else f"null::varchar as {q(c)}" for c in source.column_names]
    inner = (f"select {', '.join(cols)}, {_extra_json(extras, q)} as _extra, null::bigint as _line_no, "
             f"false as _skip, null::varchar as _record, null::varchar as _error, null::varchar as _error_reason\n"
             f"from {reader}")
    return FileScan(_with_flags(source, inner, now_utc), encoding, extras, missing_optional, scanner_header_lines=1)


def sample_json_keys(path: Path, kind: FileKind) -> list[str] | None:
    """Keys of the JSON objects on the first complete lines (None if none parse)."""
    head = inner_head(path, kind)
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM):]
    keys: dict[str, None] = {}
    parsed = False
    for raw in head.split(b"\n")[:-1][:200]:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            parsed = True
            keys.update(dict.fromkeys(obj))
    return list(keys) if parsed else None


def scan_jsonl(path: Path, source: Source, kind: FileKind, encoding: str, now_utc: datetime) -> FileScan:
    sample = sample_json_keys(path, kind)
    missing_optional: list[str] = []
    if sample is not None:
        # A required key absent from every sampled object: the file is not this source's extract.
        _, _, missing_optional = _match_columns(path.name, source, sample, case_insensitive=False)
    # Each physical line is one value: no delimiter, no quoting. Blank lines come back as NULL.
    reader = (f"read_csv({lit(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\\x01', "
              f"quote = '', escape = '', encoding = {lit(encoding)}, store_rejects = true, "
              f"rejects_table = {lit(CSV_REJECTS_TABLE)}, rejects_scan = {lit(CSV_REJECTS_SCAN)})")
    ok = "(json_valid(line) and ltrim(line)[1] = '{')"  # valid JSON starting with '{' is an object
    paths = "[" + ", ".join(lit('$."' + c + '"') for c in source.column_names) + "]"
    known_null = lit(json.dumps(dict.fromkeys(source.column_names)))
    cols = [f"_vals[{i + 1}] as {q(c)}" for i, c in enumerate(source.column_names)]
    inner = (
        f"select {', '.join(cols)},\n"
        # merge-patch with the contract keys set to null leaves only unknown keys; it is costly, so it
        # runs only when the line has more keys than contract values were found (cheap, may over-select)
        f"  case when _ok and len(json_keys(line)) > len(list_filter(_vals, lambda x: x is not null))\n"
        f"       then nullif(json_merge_patch(line, {known_null})::varchar, '{{}}') end as _extra,\n"
        f"  null::bigint as _line_no, _skip, line as _record,\n"
        f"  case when _skip then null when not json_valid(line) then 'malformed_json'\n"
        f"       when not _ok then 'not_a_json_object' end as _error,\n"
        f"  case when _skip then null when not json_valid(line) then 'the line is not valid JSON'\n"
        f"       when not _ok then 'the line is JSON but not an object' end as _error_reason\n"
        f"from (select line, (line is null or trim(line) = '') as _skip, {ok} as _ok,\n"
        f"        case when {ok} then json_extract_string(line, {paths}) end as _vals\n"
        f"      from {reader})"
    )
    return FileScan(_with_flags(source, inner, now_utc), encoding, [], missing_optional, scanner_header_lines=0,
                    extras_known_after_load=True)


def _parquet_value(name: str, typ: str) -> str:
    col = q(name)
    if typ.upper().startswith("TIMESTAMP"):  # TIMESTAMPTZ is rendered in UTC; naive timestamps are taken as UTC
        return f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%f') || 'Z'"
    return f"{col}::varchar"


def scan_parquet(con, path: Path, source: Source, kind: FileKind, now_utc: datetime, tmp_dir: Path) -> FileScan:
    """Parquet knows its row numbers (file_row_number) and needs no scanner-reject handling."""
    read_path = path
    cleanup: list[Path] = []
    if kind.gzip:  # DuckDB reads Parquet only uncompressed at file level: stream-decompress next to the warehouse
        tmp_dir.mkdir(parents=True, exist_ok=True)
        # unique per thread: two files of the same name (other folders) may load at once
        read_path = tmp_dir / f"{os.getpid()}-{threading.get_ident()}-{path.name}.decompressed.parquet"
        cleanup.append(read_path)
        try:
            with gzip.open(path, "rb") as src, read_path.open("wb") as dst:
                shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
        except (EOFError, OSError) as exc:
            read_path.unlink(missing_ok=True)
            raise ExtractError(path.name, "corrupt_gzip", f"gzip stream is truncated or corrupt ({exc})") from exc
    src = f"read_parquet({lit(str(read_path))}, file_row_number = true)"
    try:
        described = [(r[0], r[1]) for r in con.execute(f"describe select * from {src}").fetchall()
                     if r[0] != "file_row_number"]
    except duckdb.Error:
        for p in cleanup:
            p.unlink(missing_ok=True)
        raise
    types = dict(described)
    mapping, extras, missing_optional = _match_columns(path.name, source, [d[0] for d in described])
    cols = [f"{_parquet_value(mapping[c], types[mapping[c]])} as {q(c)}" if c in mapping
            else f"null::varchar as {q(c)}" for c in source.column_names]
    inner = (f"select {', '.join(cols)}, {_extra_json(extras, lambda e: _parquet_value(e, types[e]))} as _extra, "
             f"file_row_number + 1 as _line_no, false as _skip, null::varchar as _record, null::varchar as _error, "
             f"null::varchar as _error_reason from {src}")
    return FileScan(_with_flags(source, inner, now_utc), "binary", extras, missing_optional, cleanup=cleanup)
