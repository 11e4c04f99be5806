"""GDPR erasure: remove a person from every layer, keep an audit without personal data, suppress re-entry.

A request names a person by ``email``, ``phone`` or ``customer_key``. :func:`erase`

1. resolves the request to customer keys and all identifiers merged into them
   (every table with ``customer_key, identifier_type, identifier_value`` columns,
   e.g. ``restricted.customer_identifiers``; identifiers the identity graph marks
   ``is_excluded`` (shared placeholders) are not used to find rows);
2. deletes, in every base table of every schema of the warehouse (raw, staging
   seeds, intermediate, restricted, marts, meta, snapshots and history tables
   alike; discovered from the catalog, see ``privacy.IDENTIFIER_COLUMNS``), every
   row whose identifier columns hold one of them, and every raw/rejected row whose
   delivered record quotes one; then redacts any remaining mention in text columns;
3. rewrites the warehouse into a fresh file (``COPY FROM DATABASE``) so deleted
   values do not linger in free blocks, and swaps it in;
4. rewrites the published serving file the same way, atomically (``os.replace``);
5. rewrites every landed or quarantined extract, every past audience export and
   every text report under the data home without the person's rows (the load ledger
   is told the new size/mtime, so a rewritten extract is not loaded again);
6. adds salted hashes of the identifiers to ``meta.erasure_suppression`` (applied
   after every load) and writes ``meta.erasure_audit``: request id, kind, salted
   hash of the requested identifier, counts per table and file, time. No plain
   identifier and no customer key is kept.

Views (staging models) hold no data and follow their tables. The next dbt run
rebuilds the marts without the person.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from segmentation.config import Settings
from segmentation.errors import ConfigError
from segmentation.privacy import (
    SUPPRESSION_TABLE,
    TYPED_IDENTIFIER_COLUMNS,
    base_tables,
    ensure_suppression_table,
    lit,
    normalize_email,
    normalize_phone,
    q,
    require_salt,
    salted_hash,
    sql_normalize,
)

log = logging.getLogger(__name__)

REQUEST_KINDS = ("email", "phone", "customer_key")
KINDS = ("customer_key", "email", "phone", "crm", "anon", "order")
AUDIT_TABLE = "meta.erasure_audit"
REQUESTS_TABLE = "meta.erasure_requests"
REDACTED = "[erased]"
MIN_NEEDLE = 6  # shortest identifier used for substring search in free text


# --------------------------------------------------------------------------- requests

@dataclass(frozen=True)
class ErasureRequest:
    kind: str
    value: str
    request_id: str

    def normalized(self) -> str | None:
        if self.kind == "email":
            return normalize_email(self.value)
        if self.kind == "phone":
            return normalize_phone(self.value)
        return self.value.strip() or None


def parse_requests(items: list, source: str = "requests") -> list[ErasureRequest]:
    """Requests from dicts ``{"email": ...}`` / ``{"phone": ...}`` / ``{"customer_key": ...}``
    (optionally with ``request_id``) or strings ``"email:a@b.c"``; a bad one raises ConfigError naming it."""
    out: list[ErasureRequest] = []
    for n, item in enumerate(items, start=1):
        where = f"{source}, request {n}"
        if isinstance(item, str):
            kind, sep, value = item.partition(":")
            if not sep:
                raise ConfigError(f"{where}: {item!r} is not kind:value (kinds: {', '.join(REQUEST_KINDS)})")
            item = {kind.strip(): value.strip()}
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object like {{\"email\": \"...\"}}, got {item!r}")
        request_id = str(item.get("request_id") or f"erasure-{uuid.uuid4().hex[:12]}")
        kinds = [k for k in REQUEST_KINDS if item.get(k)]
        if len(kinds) != 1:
            raise ConfigError(f"{where}: give exactly one of {', '.join(REQUEST_KINDS)} (got {sorted(item)})")
        req = ErasureRequest(kinds[0], str(item[kinds[0]]).strip(), request_id)
        if req.normalized() is None or (req.kind == "email"
                                        and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", req.normalized())):
            raise ConfigError(f"{where}: {req.kind} {req.value!r} is not a valid {req.kind}")
        out.append(req)
    return out


def read_requests_file(path: Path) -> list[ErasureRequest]:
    """A JSON list (as for :func:`parse_requests`) or a CSV with columns kind,value[,request_id]."""
    if not path.exists():
        raise ConfigError(f"{path}: requests file does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            return parse_requests(json.loads(text), str(path))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not {"kind", "value"} <= set(rows[0]):
        raise ConfigError(f"{path}: CSV needs columns kind,value[,request_id]; got {list(rows[0])}")
    return parse_requests([{r["kind"]: r["value"], "request_id": r.get("request_id")} for r in rows], str(path))


# --------------------------------------------------------------------------- result

@dataclass
class ErasureResult:
    request_ids: list[str]
    customers_matched: int
    rows_deleted: dict[str, int] = field(default_factory=dict)
    values_redacted: dict[str, int] = field(default_factory=dict)
    files_rewritten: dict[str, int] = field(default_factory=dict)  # file (relative to home) -> rows removed
    suppressed: int = 0

    def summary(self) -> str:
        rows = sum(self.rows_deleted.values())
        return (f"erasure {', '.join(self.request_ids)}: {self.customers_matched} customer(s), {rows} row(s) deleted "
                f"in {len(self.rows_deleted)} table(s), {sum(self.values_redacted.values())} value(s) redacted, "
                f"{len(self.files_rewritten)} file(s) rewritten, {self.suppressed} identifier hash(es) suppressed")


@dataclass
class Identity:
    """All identifiers of the people to erase, normalised per kind."""

    values: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    raw_forms: set[str] = field(default_factory=set)  # emails/phones as delivered (for free text)

    def add(self, kind: str, value: str | None) -> None:
        if value is None:
            return
        norm = (normalize_email(value) if kind == "email" else normalize_phone(value) if kind == "phone"
                else value.strip() or None)
        if norm:
            self.values[kind].add(norm)

    def needles(self) -> set[str]:
        """Lower-case strings whose presence in free text means the person is quoted."""
        out = {v.lower() for k in KINDS for v in self.values[k]} | {v.strip().lower() for v in self.raw_forms}
        return {n for n in out if len(n) >= MIN_NEEDLE}

    def hashes(self, salt: str) -> dict[str, set[str]]:
        return {"email_sha256": {salted_hash(salt, e) for e in self.values["email"]},
                "phone_sha256": {salted_hash(salt, p) for p in self.values["phone"]}}


# --------------------------------------------------------------------------- resolve

def _column_kind(name: str) -> str | None:
    """Identifier kind of a column, by name (generic: works for tables added later)."""
    n = name.lower()
    if n.endswith("sha256"):
        return "email_sha256" if "email" in n else "phone_sha256" if "phone" in n else None
    if n.endswith("_is_invalid") or n.endswith("_opt_in") or n.startswith("is_"):
        return None
    if n == "customer_key" or n.endswith("_customer_key"):
        return "customer_key"
    if "email" in n:
        return "email"
    if "phone" in n:
        return "phone"
    if n in ("crm_id", "user_id") or n.endswith("_crm_id"):
        return "crm"
    if n == "anonymous_id" or n.endswith("_anonymous_id"):
        return "anon"
    if n == "order_id" or n.endswith("_order_id"):
        return "order"
    return None


def _identifier_tables(con) -> list:
    return [t for t in base_tables(con)
            if {"customer_key", *TYPED_IDENTIFIER_COLUMNS} <= {c.lower() for c in t.columns}]


def resolve(con: duckdb.DuckDBPyConnection, requests: list[ErasureRequest]) -> Identity:
    """Customer keys and every identifier merged into them, plus the requested identifiers themselves."""
    ident = Identity()
    for r in requests:
        ident.add("customer_key" if r.kind == "customer_key" else r.kind, r.value)
    id_tables = _identifier_tables(con)
    type_map = {"crm": "crm", "email": "email", "phone": "phone", "anon": "anon", "order": "order"}
    for t in id_tables:  # identifiers -> customer keys
        for kind in ("email", "phone"):
            for v in ident.values[kind]:
                for (key,) in con.execute(f"select distinct customer_key from {t.relation} where identifier_type = ? "
                                          f"and identifier_value = ? and customer_key is not null", [kind, v]).fetchall():
                    ident.values["customer_key"].add(key)
    keys = sorted(ident.values["customer_key"])
    excluded: set[tuple[str, str]] = set()
    for t in id_tables:  # customer keys -> every merged identifier
        has_excluded = "is_excluded" in {c.lower() for c in t.columns}
        for key in keys:
            rows = con.execute(f"select identifier_type, identifier_value"
                               f"{', coalesce(is_excluded, false)' if has_excluded else ', false'} "
                               f"from {t.relation} where customer_key = ?", [key]).fetchall()
            for typ, value, is_excluded in rows:
                if typ in type_map and value is not None:
                    if is_excluded:
                        excluded.add((type_map[typ], value))
                    else:
                        ident.add(type_map[typ], value)
    for t in base_tables(con):  # golden record: the emails/phones the person is reachable at
        cols = {c.lower(): c for c in t.columns}
        if t.schema == "restricted" and "customer_key" in cols and keys:
            for kind_col, kind in (("email", "email"), ("phone_e164", "phone")):
                if kind_col in cols:
                    for (v,) in con.execute(f"select {q(cols[kind_col])} from {t.relation} where customer_key in "
                                            f"(select unnest(?::varchar[]))", [keys]).fetchall():
                        if (kind, v) not in excluded:
                            ident.add(kind, v)
    for kind, value in excluded:  # a shared placeholder identifies nobody: never used to find rows
        ident.values[kind].discard(value)
    # as-delivered spellings of their emails and phones (for free text such as rejected records)
    for t in base_tables(con):
        if t.schema != "raw":
            continue
        for col in t.columns:
            kind = _column_kind(col)
            if kind in ("email", "phone") and ident.values[kind]:
                for (v,) in con.execute(
                        f"select distinct {q(col)} from {t.relation} where {sql_normalize(kind, q(col))} in "
                        f"(select unnest(?::varchar[]))", [sorted(ident.values[kind])]).fetchall():
                    if v:
                        ident.raw_forms.add(v)
    return ident


# --------------------------------------------------------------------------- scrub a DuckDB database

def _match_condition(t, ident: Identity, hashes: dict[str, set[str]], params: list) -> str | None:
    conds: list[str] = []
    for col in t.columns:
        kind = _column_kind(col)
        if kind is None or not (t.columns[col].upper().startswith("VARCHAR")):
            continue
        values = hashes[kind] if kind in hashes else ident.values.get(kind, set())
        if not values:
            continue
        expr = sql_normalize(kind, q(col)) if kind in ("email", "phone") else f"trim({q(col)})"
        conds.append(f"{expr} in (select unnest(?::varchar[]))")
        params.append(sorted(values))
    lower = {c.lower(): c for c in t.columns}
    if all(c in lower for c in TYPED_IDENTIFIER_COLUMNS):
        for typ in ("crm", "email", "phone", "anon", "order"):
            if ident.values[typ]:
                conds.append(f"({q(lower['identifier_type'])} = {lit(typ)} and {q(lower['identifier_value'])} in "
                             f"(select unnest(?::varchar[])))")
                params.append(sorted(ident.values[typ]))
    # a delivered record kept whole (raw _extra, meta.rejected_rows.record) that quotes the person
    needles = sorted(ident.needles())
    for col in t.columns:
        if col.lower() in ("record", "_extra") and needles:
            conds.append(f"list_bool_or([contains(lower({q(col)}), n) for n in ?::varchar[]])")
            params.append(needles)
    return " or ".join(conds) if conds else None


def scrub_database(con: duckdb.DuckDBPyConnection, ident: Identity, salt: str,
                   catalog: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Delete the person's rows from every base table, then redact remaining mentions in text columns."""
    hashes = ident.hashes(salt)
    deleted: dict[str, int] = {}
    redacted: dict[str, int] = {}
    tables = base_tables(con, catalog)
    prefix = f"{q(catalog)}." if catalog else ""
    for t in tables:
        if f"{t.schema}.{t.table}" in (SUPPRESSION_TABLE, AUDIT_TABLE):
            continue
        params: list = []
        where = _match_condition(t, ident, hashes, params)
        if not where:
            continue
        rel = prefix + t.relation
        n = con.execute(f"select count(*) from {rel} where {where}", params).fetchone()[0]
        if n:
            con.execute(f"delete from {rel} where {where}", params)
            deleted[f"{t.schema}.{t.table}"] = n
    needles = sorted(ident.needles())
    if needles:
        pattern = "(?i)(" + "|".join(re.escape(n) for n in needles) + ")"
        for t in tables:
            if f"{t.schema}.{t.table}" in (SUPPRESSION_TABLE, AUDIT_TABLE):
                continue
            rel = prefix + t.relation
            for col in t.text_columns():
                cond = f"list_bool_or([contains(lower({q(col)}), n) for n in ?::varchar[]])"
                n = con.execute(f"select count(*) from {rel} where {cond}", [needles]).fetchone()[0]
                if n:
                    con.execute(f"update {rel} set {q(col)} = regexp_replace({q(col)}, ?, ?, 'g') where {cond}",
                                [pattern, REDACTED, needles])
                    redacted[f"{t.schema}.{t.table}.{col}"] = n
    return deleted, redacted


def _compact(path: Path) -> None:
    """Rewrite a DuckDB file into a fresh one (no free blocks with old values) and swap it in."""
    fresh = path.with_name(f".{path.name}.compact.tmp")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        src = con.execute("select current_database()").fetchone()[0]
        con.execute(f"attach {lit(str(fresh))} as compact_dst")
        con.execute(f"copy from database {q(src)} to compact_dst")
        con.execute("detach compact_dst")
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    os.replace(fresh, path)
    Path(str(path) + ".wal").unlink(missing_ok=True)


def _scrub_serving(serving: Path, ident: Identity, salt: str) -> tuple[dict[str, int], dict[str, int]]:
    """Scrub a copy of the serving file, compact it and swap it in atomically."""
    tmp = serving.with_name(f".{serving.name}.erasure.tmp")
    tmp.unlink(missing_ok=True)
    tmp.write_bytes(serving.read_bytes())
    try:
        con = duckdb.connect(str(tmp))
        try:
            deleted, redacted = scrub_database(con, ident, salt)
            con.execute("checkpoint")
        finally:
            con.close()
        _compact(tmp)
        os.replace(tmp, serving)
    finally:
        tmp.unlink(missing_ok=True)
    return deleted, redacted


# --------------------------------------------------------------------------- scrub files

def _cell_matches(value, ident: Identity, hashes: set[str], emails_in_text: tuple[str, ...] = ()) -> bool:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return False
    text = str(value).strip()
    if not text:
        return False
    low = text.lower()
    if low in hashes or text in ident.values["customer_key"]:
        return True
    if normalize_email(text) in ident.values["email"] or normalize_phone(text) in ident.values["phone"]:
        return True
    if text in ident.values["crm"] or text in ident.values["anon"] or text in ident.values["order"]:
        return True
    return any(n in low for n in emails_in_text)  # an address inside a longer text


def _open_text(path: Path, encoding: str):
    return gzip.open(path, "rt", encoding=encoding, newline="") if path.suffix == ".gz" \
        else path.open("r", encoding=encoding, newline="")


def _write_text(path: Path, text: str, encoding: str) -> None:
    tmp = path.with_name(f".{path.name}.erasure.tmp")
    data = text.encode(encoding)
    tmp.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    os.replace(tmp, path)


def _read_text(path: Path) -> tuple[str, str]:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            with _open_text(path, encoding) as f:
                return f.read(), ("utf-8" if encoding == "utf-8-sig" else encoding)
        except UnicodeDecodeError:
            continue
    raise ConfigError(f"{path}: cannot be read as UTF-8 or Latin-1")


class _Prefilter:
    """Cheap test that a record cannot belong to the person (no false negatives), so the
    per-cell normalisation runs only on the few records that might."""

    def __init__(self, ident: Identity, hashes: set[str]):
        self.text = tuple(sorted(ident.needles() | hashes
                                 | {v.lower() for k in ("customer_key", "email", "crm", "anon", "order")
                                    for v in ident.values[k]}))
        # any spelling of a phone keeps its last 7 digits in order once non-digits are removed
        self.digits = tuple(sorted({p[-7:] for p in ident.values["phone"]}))

    def may_match(self, cells) -> bool:
        joined = "\x1f".join("" if c is None else str(c) for c in cells)
        low = joined.lower()
        if any(n in low for n in self.text):
            return True
        if self.digits:
            only_digits = re.sub(r"[^0-9]", "", joined)
            return any(d in only_digits for d in self.digits)
        return False


def scrub_file(path: Path, ident: Identity, salt: str) -> int:
    """Remove the person's rows from one CSV / JSON-lines / Parquet file (gzip too); rows removed."""
    hashes = set().union(*ident.hashes(salt).values())
    emails = tuple(n for n in ident.needles() if "@" in n)
    pre = _Prefilter(ident, hashes)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        df = pd.read_parquet(path)
        keep = ~df.apply(lambda row: pre.may_match(row) and any(_cell_matches(v, ident, hashes, emails) for v in row),
                         axis=1) if len(df) else []
        removed = int(len(df) - (keep.sum() if len(df) else 0))
        if removed:
            tmp = path.with_name(f".{path.name}.erasure.tmp")
            df[keep].to_parquet(tmp, index=False)
            os.replace(tmp, path)
        return removed
    if not (name.endswith(".csv") or name.endswith(".jsonl") or name.endswith(".json") or name.endswith(".txt")
            or name.endswith(".html") or name.endswith(".tsv")):
        return 0
    text, encoding = _read_text(path)
    if name.endswith(".csv") or name.endswith(".tsv"):
        first = text.split("\n", 1)[0]
        delimiter = max([",", ";", "\t", "|"], key=first.count)
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        kept = [r for i, r in enumerate(rows)
                if i == 0 or not (pre.may_match(r) and any(_cell_matches(v, ident, hashes, emails) for v in r))]
        removed = len(rows) - len(kept)
        if removed:
            out = io.StringIO()
            csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(kept)
            _write_text(path, out.getvalue(), encoding)
        return removed
    if name.endswith(".jsonl"):
        lines = text.splitlines(keepends=True)
        kept = []
        for line in lines:
            try:
                obj = json.loads(line)
                values = obj.values() if isinstance(obj, dict) else [line]
            except json.JSONDecodeError:
                values = [line]
            if not (pre.may_match(values) and any(_cell_matches(v, ident, hashes, emails) for v in values)):
                kept.append(line)
        removed = len(lines) - len(kept)
        if removed:
            _write_text(path, "".join(kept), encoding)
        return removed
    # other text (reports, manifests): redact mentions in place
    needles = ident.needles() | hashes
    if not any(n in text.lower() for n in needles):
        return 0
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)), re.IGNORECASE)
    new, count = pattern.subn(REDACTED, text)
    _write_text(path, new, encoding)
    return count


def _scrub_tree(root: Path, home: Path, ident: Identity, salt: str, skip: set[Path]) -> dict[str, int]:
    out: dict[str, int] = {}
    if not root.exists():
        return out
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path in skip or path.name.endswith(".tmp"):
            continue
        try:
            removed = scrub_file(path, ident, salt)
        except (OSError, ValueError) as exc:
            log.warning("could not scrub %s: %s", path, exc)
            continue
        if removed:
            out[str(path.relative_to(home)) if home in path.parents else str(path)] = removed
    return out


def _refresh_export_manifests(exports: Path) -> None:
    """Counts and checksums of rewritten export files, in each run's manifest."""
    for manifest_path in exports.glob("runs/*/manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        changed = False
        for entry in manifest.get("files", []):
            p = manifest_path.parent / entry["file"]
            if not p.exists():
                continue
            import hashlib

            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            if digest != entry["sha256"]:
                entry["sha256"] = digest
                entry["rows"] = int(len(pd.read_parquet(p))) if p.suffix == ".parquet" else entry["rows"] - 0
                if p.suffix == ".csv":
                    entry["rows"] = max(0, sum(1 for _ in p.open()) - 1)
                changed = True
        if changed:
            manifest["rewritten_by_erasure"] = True
            tmp = manifest_path.with_name(".manifest.json.tmp")
            tmp.write_text(json.dumps(manifest, indent=2) + "\n")
            os.replace(tmp, manifest_path)


# --------------------------------------------------------------------------- erase

def erase(settings: Settings, requests: list[ErasureRequest], *, compact: bool = True,
          include_pending: bool = True) -> ErasureResult:
    """Erase the people named by ``requests`` everywhere under the data home (see module doc)."""
    from segmentation.loading import connect, ensure_tables

    salt = require_salt("erasure (suppression list and audit hold salted hashes)")
    if not settings.warehouse.exists():
        raise ConfigError(f"{settings.warehouse}: warehouse does not exist; nothing to erase from")
    processed_at = datetime.now(timezone.utc).replace(tzinfo=None)
    con = connect(settings)
    try:
        ensure_tables(con)
        ensure_suppression_table(con)
        _ensure_audit_tables(con)
        if include_pending:
            requests = requests + _pending_requests(con)
        if not requests:
            raise ConfigError("no erasure requests given (params, file or meta.erasure_requests)")
        ident = resolve(con, requests)
        result = ErasureResult([r.request_id for r in requests], len(ident.values["customer_key"]))
        con.execute("begin transaction")
        result.rows_deleted, result.values_redacted = scrub_database(con, ident, salt)
        rows = [(kind, salted_hash(salt, v)) for kind in ("email", "phone", "crm", "anon", "order")
                for v in sorted(ident.values[kind])]
        for kind, digest in rows:
            con.execute(f"insert into {SUPPRESSION_TABLE} select ?, ?, ?, ? where not exists (select 1 from "
                        f"{SUPPRESSION_TABLE} where identifier_kind = ? and identifier_sha256 = ?)",
                        [kind, digest, ",".join(result.request_ids), processed_at, kind, digest])
        result.suppressed = len(rows)
        con.execute(f"update {REQUESTS_TABLE} set identifier_value = null, status = 'done', processed_at = ? "
                    f"where status = 'pending'", [processed_at])
        con.execute("commit")
        landing_files = _ledger_files(con)
    finally:
        con.close()
    if compact:
        _compact(settings.warehouse)

    if settings.serving.exists():
        deleted, redacted = _scrub_serving(settings.serving, ident, salt)
        for k, v in deleted.items():
            result.rows_deleted[f"serving:{k}"] = v
        for k, v in redacted.items():
            result.values_redacted[f"serving:{k}"] = v
    skip = {settings.warehouse, settings.serving}
    roots = [settings.landing, settings.quarantine, settings.audience_dir, settings.reports]
    for root in dict.fromkeys(roots):
        result.files_rewritten.update(_scrub_tree(root, settings.home, ident, salt, skip))
    _refresh_export_manifests(settings.audience_dir)
    removals = _write_removals(settings.audience_dir, result.request_ids, ident.hashes(salt), processed_at)
    if removals:
        result.files_rewritten[str(removals.relative_to(settings.home)) if settings.home in removals.parents
                               else str(removals)] = 0

    con = connect(settings)
    try:
        _update_ledger(con, settings, landing_files)
        for r in requests:
            con.execute(f"insert into {AUDIT_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)", [
                r.request_id, r.kind, salted_hash(salt, r.normalized() or ""), result.customers_matched,
                json.dumps(result.rows_deleted, sort_keys=True), json.dumps(result.files_rewritten, sort_keys=True),
                result.suppressed, processed_at])
    finally:
        con.close()
    log.info(result.summary())
    return result


def _write_removals(exports: Path, request_ids: list[str], hashes: dict[str, set[str]],
                    processed_at: datetime) -> Path | None:
    """Tell the marketing tool whom to delete: the erased people's match hashes (no plain identifier).

    Past exports no longer contain them, so no later delta can list them as removed;
    ``<exports>/erasures/<time>.csv`` (``match_column, match_value``) does. Delete it
    once the tool has synced it.
    """
    rows = [(col, v) for col in sorted(hashes) for v in sorted(hashes[col])]
    if not rows or not exports.exists():
        return None
    folder = exports / "erasures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{processed_at:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}.csv"
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["match_column", "match_value", "requests"])
        w.writerows([(col, v, ";".join(request_ids)) for col, v in rows])
    os.replace(tmp, path)
    return path


def _ensure_audit_tables(con) -> None:
    con.execute(f"""create table if not exists {AUDIT_TABLE} (
        request_id varchar, requested_kind varchar, identifier_sha256 varchar, customers_matched integer,
        rows_deleted varchar, files_rewritten varchar, identifiers_suppressed integer, processed_at timestamp)""")
    con.execute(f"""create table if not exists {REQUESTS_TABLE} (
        request_id varchar, identifier_kind varchar, identifier_value varchar, requested_at timestamp,
        status varchar, processed_at timestamp)""")


def _pending_requests(con) -> list[ErasureRequest]:
    rows = con.execute(f"select request_id, identifier_kind, identifier_value from {REQUESTS_TABLE} "
                       f"where status = 'pending' order by requested_at").fetchall()
    return parse_requests([{kind: value, "request_id": rid} for rid, kind, value in rows], REQUESTS_TABLE)


def _ledger_files(con) -> dict[str, tuple[int, int]]:
    return {p: (s, m) for p, s, m in con.execute(
        "select file_path, size_bytes, file_mtime_ns from meta.load_ledger where status in ('loaded', 'duplicate')"
    ).fetchall()}


def _update_ledger(con, settings: Settings, before: dict[str, tuple[int, int]]) -> None:
    """A rewritten extract keeps its ledger row (original checksum) with the new size and mtime,
    so the loader sees it as already loaded rather than as new content."""
    for path_text, (size, mtime) in before.items():
        p = Path(path_text)
        if not p.exists():
            continue
        st = p.stat()
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            con.execute("update meta.load_ledger set size_bytes = ?, file_mtime_ns = ? where file_path = ? "
                        "and status in ('loaded', 'duplicate')", [st.st_size, st.st_mtime_ns, path_text])
