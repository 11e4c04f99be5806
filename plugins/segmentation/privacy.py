"""Privacy primitives: the PII salt, salted hashes, identifier discovery, suppression, retention.

- **Salt**: salted SHA-256 hashes (``sha256(salt || normalized value)``) are the only
  form in which an email or phone leaves the restricted schema (serving file,
  audience exports, suppression list). The salt is configuration, never in the
  repository: ``SEGMENTS_PII_SALT``, else the file named by
  ``SEGMENTS_PII_SALT_FILE``, else the Airflow Variable ``segments_pii_salt``
  (also readable as ``AIRFLOW_VAR_SEGMENTS_PII_SALT``). Without one, nothing that
  would carry a hash is written (:func:`require_salt` raises ``ConfigError``).
- **Identifier columns** are found by name in the catalog (:data:`IDENTIFIER_COLUMNS`),
  so new tables and history tables are covered without a list of tables.
- **Suppression** (``meta.erasure_suppression``): salted hashes of erased people's
  identifiers; :func:`apply_suppression` deletes matching raw rows after every load,
  so a later extract that still contains an erased person does not bring them back.
- **Retention** (:func:`enforce_retention`): raw rows and landed files older than
  ``SEGMENTS_RAW_RETENTION_DAYS`` are deleted; the load ledger is kept.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from segmentation.errors import ConfigError

log = logging.getLogger(__name__)

SALT_ENV = "SEGMENTS_PII_SALT"
SALT_FILE_ENV = "SEGMENTS_PII_SALT_FILE"
SALT_AIRFLOW_VARIABLE = "segments_pii_salt"
MIN_SALT_LENGTH = 16
DEFAULT_CALLING_CODE = "49"  # dbt var phone_default_calling_code
RETENTION_ENV = "SEGMENTS_RAW_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 1095

# Column name -> identifier kind. Any table in any schema with one of these columns
# holds personal identifiers of that kind (erasure and suppression look them up by name).
IDENTIFIER_COLUMNS: dict[str, str] = {
    "customer_key": "customer_key",
    "email": "email",
    "email_raw": "email",
    "phone": "phone",
    "phone_raw": "phone",
    "phone_e164": "phone",
    "crm_id": "crm",
    "user_id": "crm",
    "anonymous_id": "anon",
    "order_id": "order",
    "email_sha256": "email_sha256",
    "phone_sha256": "phone_sha256",
}
# customer_identifiers-style tables: (type column, value column); identifier_type -> kind.
TYPED_IDENTIFIER_COLUMNS = ("identifier_type", "identifier_value")
IDENTIFIER_TYPE_KIND = {"crm": "crm", "email": "email", "phone": "phone", "anon": "anon", "order": "order"}
# Columns holding a whole delivered record or free text that may quote a value
# (meta.rejected_rows, _extra JSON): matched by substring, not equality.
FREE_TEXT_COLUMNS = ("record", "value", "reason", "_extra")


# --------------------------------------------------------------------------- salt

def get_salt() -> str | None:
    """The configured PII salt, or None (see module doc for where it is read)."""
    value = os.environ.get(SALT_ENV)
    if value:
        return value
    path = os.environ.get(SALT_FILE_ENV)
    if path and Path(path).is_file():
        value = Path(path).read_text(encoding="utf-8").strip()
        if value:
            return value
    value = os.environ.get("AIRFLOW_VAR_" + SALT_AIRFLOW_VARIABLE.upper())
    if value:
        return value
    if "airflow.sdk" in sys.modules:  # inside an Airflow process: ask the Variable store
        try:
            from airflow.sdk import Variable

            value = Variable.get(SALT_AIRFLOW_VARIABLE, default=None)
        except Exception:  # noqa: BLE001 - no task context / no metadata DB: not configured
            value = None
        if value:
            return str(value)
    return None


def require_salt(purpose: str) -> str:
    """The salt, or a ConfigError that says how to configure it."""
    salt = get_salt()
    if not salt:
        raise ConfigError(
            f"{purpose} needs a PII salt and none is configured: set {SALT_ENV} (or {SALT_FILE_ENV}, "
            f"or the Airflow Variable {SALT_AIRFLOW_VARIABLE!r}); see docs/privacy.md. "
            "Nothing with hashed identifiers was written.")
    if len(salt) < MIN_SALT_LENGTH:
        raise ConfigError(f"{purpose}: the PII salt is {len(salt)} characters; use at least {MIN_SALT_LENGTH} "
                          "random characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return salt


def write_salt_file(path: Path) -> bool:
    """Create a random salt file (mode 0600) if missing; True when created. For local runs (`make run`)."""
    import secrets

    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return True


# --------------------------------------------------------------------------- normalisation and hashing

def normalize_email(value: str | None) -> str | None:
    """As dbt's normalize_email: trimmed, lower case, None when empty."""
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def normalize_phone(value: str | None, calling_code: str = DEFAULT_CALLING_CODE) -> str | None:
    """As dbt's normalize_phone (E.164), national numbers taking ``calling_code``."""
    if value is None:
        return None
    cleaned = value.strip().replace("(0)", "")
    digits = re.sub(r"[^0-9]", "", cleaned)
    if not digits:
        return None
    if cleaned.startswith("+"):
        e164 = "+" + digits
    elif digits.startswith("00"):
        e164 = "+" + digits[2:]
    elif digits.startswith("0"):
        e164 = "+" + calling_code + digits[1:]
    else:
        return None
    return e164 if re.fullmatch(r"\+[1-9][0-9]{7,14}", e164) else None


def salted_hash(salt: str, value: str) -> str:
    """sha256(salt || value) as hex; equal to DuckDB's ``sha256(salt || value)``."""
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()


def sql_normalize_email(expr: str) -> str:
    return f"nullif(lower(trim({expr})), '')"


def sql_normalize_phone(expr: str, calling_code: str = DEFAULT_CALLING_CODE) -> str:
    cleaned = f"replace(trim({expr}), '(0)', '')"
    digits = f"regexp_replace({cleaned}, '[^0-9]', '', 'g')"
    e164 = (f"(case when {digits} = '' then null when {cleaned} like '+%' then '+' || {digits} "
            f"when {digits} like '00%' then '+' || substr({digits}, 3) "
            f"when {digits} like '0%' then '+{calling_code}' || substr({digits}, 2) end)")
    return f"(case when regexp_full_match({e164}, '\\+[1-9][0-9]{{7,14}}') then {e164} end)"


def sql_normalize(kind: str, expr: str) -> str:
    """SQL that normalises a column of identifier ``kind`` the way it is hashed."""
    if kind == "email":
        return sql_normalize_email(expr)
    if kind == "phone":
        return sql_normalize_phone(expr)
    return f"nullif(trim({expr}), '')"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- catalog

@dataclass(frozen=True)
class TableColumns:
    schema: str
    table: str
    columns: dict[str, str]  # name -> data type

    @property
    def relation(self) -> str:
        return f"{q(self.schema)}.{q(self.table)}"

    def identifier_columns(self) -> dict[str, str]:
        return {c: IDENTIFIER_COLUMNS[c.lower()] for c in self.columns if c.lower() in IDENTIFIER_COLUMNS}

    def text_columns(self) -> list[str]:
        return [c for c, t in self.columns.items() if t.upper().startswith("VARCHAR") or t.upper() == "JSON"]


def base_tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> list[TableColumns]:
    """Every base table (not view) of a database, with its columns, from the catalog."""
    catalog = catalog or con.execute("select current_database()").fetchone()[0]
    rows = con.execute(
        """select c.table_schema, c.table_name, c.column_name, c.data_type
           from information_schema.columns c
           join information_schema.tables t
             on t.table_catalog = c.table_catalog and t.table_schema = c.table_schema
            and t.table_name = c.table_name
           where c.table_catalog = ? and t.table_type = 'BASE TABLE'
           order by c.table_schema, c.table_name, c.ordinal_position""", [catalog]).fetchall()
    tables: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, dtype in rows:
        tables.setdefault((schema, table), {})[column] = dtype
    return [TableColumns(s, t, cols) for (s, t), cols in tables.items()]


# --------------------------------------------------------------------------- suppression

SUPPRESSION_TABLE = "meta.erasure_suppression"
SUPPRESSION_DDL = f"""
create table if not exists {SUPPRESSION_TABLE} (
    identifier_kind    varchar,   -- email | phone | crm | anon | order | customer_key
    identifier_sha256  varchar,   -- sha256(salt || normalized value)
    request_id         varchar,
    added_at           timestamp
)"""
SUPPRESSED_KINDS = ("email", "phone", "crm", "anon", "order")


def ensure_suppression_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists meta")
    con.execute(SUPPRESSION_DDL)


def suppression_count(con: duckdb.DuckDBPyConnection) -> int:
    ensure_suppression_table(con)
    return con.execute(f"select count(*) from {SUPPRESSION_TABLE}").fetchone()[0]


def apply_suppression(con: duckdb.DuckDBPyConnection, salt: str | None = None) -> dict[str, int]:
    """Delete raw rows (and rejected rows) of suppressed people; returns deleted rows per table.

    Runs after every load: a later extract that still contains an erased person
    loads, and their rows are gone before anything reads them. Needs the salt only
    when the suppression list is not empty.
    """
    if suppression_count(con) == 0:
        return {}
    salt = salt or require_salt("applying the erasure suppression list")
    deleted: dict[str, int] = {}
    for t in base_tables(con):
        if t.schema != "raw":
            continue
        conds = [f"sha256({lit(salt)} || {sql_normalize(kind, q(col))}) in "
                 f"(select identifier_sha256 from {SUPPRESSION_TABLE} where identifier_kind = {lit(kind)})"
                 for col, kind in t.identifier_columns().items() if kind in SUPPRESSED_KINDS]
        if conds:
            deleted[f"raw.{t.table}"] = _delete(con, t.relation, " or ".join(conds))
    # bad rows kept aside by the loader carry the whole delivered record as JSON
    if _has_table(con, "meta", "rejected_rows"):
        record_keys = {"email": "email", "phone": "phone", "crm_id": "crm", "user_id": "crm",
                       "anonymous_id": "anon", "order_id": "order"}
        conds = [f"sha256({lit(salt)} || {sql_normalize(kind, _json_field('record', key))}) in "
                 f"(select identifier_sha256 from {SUPPRESSION_TABLE} where identifier_kind = {lit(kind)})"
                 for key, kind in record_keys.items()]
        deleted["meta.rejected_rows"] = _delete(
            con, "meta.rejected_rows", "json_valid(record) and (" + " or ".join(conds) + ")")
    deleted = {k: v for k, v in deleted.items() if v}
    if deleted:
        log.info("suppression list removed %s", ", ".join(f"{k}={v}" for k, v in deleted.items()))
    return deleted


def _json_field(column: str, key: str) -> str:
    return f"json_extract_string({column}, {lit('$.' + key)})"


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _delete(con: duckdb.DuckDBPyConnection, relation: str, where: str) -> int:
    n = con.execute(f"select count(*) from {relation} where {where}").fetchone()[0]
    if n:
        con.execute(f"delete from {relation} where {where}")
    return n


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


# --------------------------------------------------------------------------- match keys (serving)

MATCH_KEYS_TABLE = "customer_match_keys"


def match_keys_sql(salt: str, pii_relation: str = "restricted.customer_pii") -> str:
    """customer_key with salted hashes of the golden email and phone: what a marketing tool matches on."""
    return (f"select customer_key, "
            f"case when email is not null then sha256({lit(salt)} || {sql_normalize_email('email')}) end "
            f"as email_sha256, "
            f"case when phone_e164 is not null then sha256({lit(salt)} || phone_e164) end as phone_sha256 "
            f"from {pii_relation}")


# --------------------------------------------------------------------------- identifier scan

@dataclass
class Finding:
    where: str
    column: str
    value: str


def scan_database(path: Path, needles: set[str], *, substring: bool = False) -> list[Finding]:
    """Every (table, column, value) of a DuckDB file whose text equals (or contains) a needle.

    Compares lower-cased, trimmed text of every column of every table, whatever its type.
    """
    needles = {n.strip().lower() for n in needles if n and n.strip()}
    if not needles:
        return []
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("create temp table _needles (v varchar)")
        con.executemany("insert into _needles values (?)", [[n] for n in sorted(needles)])
        found: list[Finding] = []
        for t in base_tables(con):
            for col in t.columns:
                text = f"lower(trim(cast({q(col)} as varchar)))"
                cond = (f"exists (select 1 from _needles n where contains({text}, n.v))" if substring
                        else f"{text} in (select v from _needles)")
                for (value,) in con.execute(f"select distinct cast({q(col)} as varchar) from {t.relation} "
                                            f"where {cond} limit 5").fetchall():
                    found.append(Finding(f"{t.schema}.{t.table}", col, value))
        return found
    finally:
        con.close()


# --------------------------------------------------------------------------- retention

@dataclass
class RetentionReport:
    days: int
    cutoff: datetime
    rows_deleted: dict[str, int] = field(default_factory=dict)
    files_deleted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rows = ", ".join(f"{k}={v}" for k, v in self.rows_deleted.items()) or "no rows"
        return (f"raw retention {self.days} days (before {self.cutoff:%Y-%m-%d %H:%M}): deleted {rows}; "
                f"{len(self.files_deleted)} landed file(s) removed")


def retention_days() -> int:
    raw = os.environ.get(RETENTION_ENV, str(DEFAULT_RETENTION_DAYS))
    try:
        days = int(raw)
    except ValueError:
        raise ConfigError(f"{RETENTION_ENV}={raw!r}: not a whole number of days") from None
    if days < 1:
        raise ConfigError(f"{RETENTION_ENV}={days}: retention must be at least 1 day")
    return days


def enforce_retention(settings, now: datetime | None = None, days: int | None = None) -> RetentionReport:
    """Delete raw rows loaded more than ``days`` ago and their landed files; keep the ledger.

    Raw rows go by load time (``_loaded_at``): the raw layer is the delivered
    extracts, so an extract older than the retention period goes as a whole. The
    rows in ``meta.rejected_rows`` of such files go too; ``meta.load_ledger`` keeps
    its row per file (name, checksum, counts), which holds no personal data, so a
    re-delivery of an expired file is still recognised as already loaded.
    """
    from segmentation.loading import connect, ensure_tables

    days = days if days is not None else retention_days()
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    cutoff = now - timedelta(days=days)
    report = RetentionReport(days, cutoff)
    con = connect(settings)
    try:
        ensure_tables(con)
        expired = con.execute(
            "select distinct file_path, sha256 from meta.load_ledger where status = 'loaded' and finished_at < ?",
            [cutoff]).fetchall()
        con.execute("begin transaction")
        for t in base_tables(con):
            if t.schema == "raw" and "_loaded_at" in t.columns:
                report.rows_deleted[f"raw.{t.table}"] = _delete(con, t.relation, f"_loaded_at < {lit(str(cutoff))}::timestamp")
        report.rows_deleted["meta.rejected_rows"] = _delete(
            con, "meta.rejected_rows", f"rejected_at < {lit(str(cutoff))}::timestamp")
        con.execute("commit")
        for file_path, _sha in expired:
            p = Path(file_path)
            if p.exists() and settings.landing in p.parents:
                p.unlink()
                report.files_deleted.append(str(p))
        report.rows_deleted = {k: v for k, v in report.rows_deleted.items() if v}
        con.execute("create table if not exists meta.retention_runs (ran_at timestamp, retention_days integer, "
                    "cutoff timestamp, rows_deleted bigint, files_deleted integer)")
        con.execute("insert into meta.retention_runs values (?, ?, ?, ?, ?)",
                    [now, days, cutoff, sum(report.rows_deleted.values()), len(report.files_deleted)])
    finally:
        con.close()
    log.info(report.summary())
    return report
