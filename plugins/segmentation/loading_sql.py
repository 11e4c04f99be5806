"""SQL the loader runs: table definitions and row-level validation rules.

Every rule is a SQL expression over the VARCHAR value as delivered, so
validation runs inside DuckDB (vectorised, streaming), never row by row in
Python. A rule produces a struct {column, rule, value, reason}; a row whose
list of such structs is empty is good.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from segmentation.contracts import BOOL_ACCEPTED, LOAD_METADATA_COLUMNS, SOURCES, Column, Source

EXTRA_COLUMN = "_extra"  # JSON object of columns the contract does not know (schema drift), else NULL

# Timestamps later than the reference time plus this grace are rejected as "future".
FUTURE_GRACE = timedelta(days=1)

# strptime formats for contracts.DATE_FORMATS_ACCEPTED, in the same order.
DATE_STRPTIME_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d %b %Y")

# ISO 8601 date-time with an explicit UTC offset (Z, +HH, +HHMM, +HH:MM); seconds and fractions optional.
TIMESTAMP_REGEX = (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
                   r"\s?([Zz]|[+-]\d{2}(:?\d{2})?)")
INT_REGEX = r"[+-]?\d+"
DECIMAL_REGEX = r"[+-]?(\d+(\.\d*)?|\.\d+)"

# Smallest allowed value of numeric columns (source, column) -> minimum.
MINIMUM_VALUE: dict[tuple[str, str], int] = {
    ("orders", "quantity"): 1,
    ("orders", "line_number"): 1,
}

LEDGER_DDL = """
create table if not exists meta.load_ledger (
    file_path      varchar,
    file_name      varchar,
    source         varchar,
    sha256         varchar,
    size_bytes     bigint,
    rows_loaded    bigint,
    rows_rejected  bigint,
    status         varchar,   -- loaded | duplicate | quarantined | requeued
    error          varchar,
    batch_id       varchar,
    started_at     timestamp,
    finished_at    timestamp,
    schema_drift   varchar,
    file_format    varchar,
    encoding       varchar,
    file_mtime_ns  bigint,
    error_rule     varchar    -- rule of the error (quarantined files), e.g. missing_required_column
)"""

REJECTS_DDL = """
create table if not exists meta.rejected_rows (
    file_name    varchar,
    sha256       varchar,
    source       varchar,
    row_number   bigint,
    column_name  varchar,
    rule         varchar,
    value        varchar,
    reason       varchar,
    batch_id     varchar,
    rejected_at  timestamp,
    record       varchar    -- the whole delivered row (JSON object or raw line), so nothing is lost
)"""


def q(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote a string literal."""
    return "'" + value.replace("'", "''") + "'"


def raw_table_ddl(source: Source) -> str:
    cols = [f"{q(c)} varchar" for c in source.column_names]
    cols += [f"{q(name)} {typ.lower()}" for name, typ, _ in LOAD_METADATA_COLUMNS]
    cols.append(f"{q(EXTRA_COLUMN)} varchar")
    return f"create table if not exists raw.{q(source.table)} (\n    " + ",\n    ".join(cols) + "\n)"


def ensure_schema_sql() -> list[str]:
    stmts = ["create schema if not exists raw", "create schema if not exists meta", LEDGER_DDL, REJECTS_DDL]
    stmts += [raw_table_ddl(s) for s in SOURCES.values()]
    return stmts


def _violation(column: str, rule: str, cond: str, value: str, reason: str) -> str:
    return (f"case when {cond} then {{'column': {lit(column)}, 'rule': {lit(rule)}, "
            f"'value': {value}, 'reason': {reason}}} end")


def _empty(v: str) -> str:
    # trim() allocates, so it only runs on values that start with whitespace or a control character
    return f"({v} is null or {v} = '' or (ascii({v}) <= 32 and trim({v}) = ''))"


def column_violations(source: Source, col: Column, now_utc: datetime) -> list[str]:
    """SQL expressions, each NULL or a violation struct, for one contract column."""
    v = q(col.name)
    t = f"trim({v})"
    name = lit(col.name)
    out: list[str] = []
    if col.required:
        out.append(_violation(col.name, "required_value_missing", _empty(v), v,
                              f"'required column ' || {name} || ' is empty'"))
    present = f"not {_empty(v)}"
    show = f"'''' || {v} || ''''"
    if col.kind == "int":
        out.append(_violation(col.name, "not_an_integer",
                              f"{present} and not regexp_full_match({t}, {lit(INT_REGEX)})", v,
                              f"{show} || ' is not a whole number'"))
    elif col.kind == "decimal":
        out.append(_violation(col.name, "not_a_decimal",
                              f"{present} and not regexp_full_match({t}, {lit(DECIMAL_REGEX)})", v,
                              f"{show} || ' is not a decimal number (dot as decimal separator)'"))
    elif col.kind == "date":
        fmts = "[" + ", ".join(lit(f) for f in DATE_STRPTIME_FORMATS) + "]"
        out.append(_violation(col.name, "unparseable_date",
                              f"{present} and try_strptime({t}, {fmts}) is null", v,
                              f"{show} || ' is not a date in YYYY-MM-DD, DD.MM.YYYY, MM/DD/YYYY or DD Mon YYYY'"))
    elif col.kind == "timestamp":
        bad = (f"{present} and (not regexp_full_match({t}, {lit(TIMESTAMP_REGEX)}) "
               f"or try_cast({t} as timestamptz) is null)")
        out.append(_violation(col.name, "invalid_timestamp", bad, v,
                              f"{show} || ' is not an ISO 8601 timestamp with UTC offset "
                              f"(e.g. 2026-11-20T14:03:11+01:00)'"))
        limit = _future_limit(now_utc)
        future = (f"{present} and regexp_full_match({t}, {lit(TIMESTAMP_REGEX)}) "
                  f"and try_cast({t} as timestamptz) > timestamptz {lit(limit)}")
        out.append(_violation(col.name, "future_timestamp", future, v,
                              f"{show} || ' is in the future (later than {limit} = run reference time + "
                              f"{int(FUTURE_GRACE.total_seconds() // 3600)}h)'"))
    elif col.kind == "bool":
        accepted = ", ".join(lit(b) for b in BOOL_ACCEPTED)
        out.append(_violation(col.name, "invalid_boolean",
                              f"{v} is not null and lower({t}) not in ({accepted})", v,
                              f"{show} || ' is not a boolean (accepted: {'/'.join(BOOL_ACCEPTED[:-1])} or empty)'"))
    elif col.kind == "enum":
        accepted = [a for a in col.accepted if a]
        allowed = ", ".join(lit(a.lower()) for a in accepted)
        out.append(_violation(col.name, "invalid_enum_value",
                              f"{present} and lower({t}) not in ({allowed})", v,
                              f"{show} || ' is not one of {', '.join(accepted)}'"))
    minimum = MINIMUM_VALUE.get((source.name, col.name))
    if minimum is not None:
        out.append(_violation(col.name, "below_minimum",
                              f"{present} and regexp_full_match({t}, {lit(INT_REGEX)}) "
                              f"and try_cast({t} as hugeint) < {minimum}", v,
                              f"{show} || ' is below the minimum {minimum}'"))
    return out


def violations_expr(source: Source, now_utc: datetime) -> str:
    """One SQL expression: the list of violation structs of a row (empty list = good row).

    Building structs is costly, so it is evaluated only for rows ``bad_row_expr`` flags.
    """
    parts = [e for c in source.columns for e in column_violations(source, c, now_utc)]
    return "list_filter([" + ",\n        ".join(parts) + "], lambda x: x is not null)"


def bad_row_expr(source: Source, now_utc: datetime) -> str:
    """Cheap boolean: does the row break any rule? Exactly the rows ``violations_expr`` finds fault with.

    The loader checks that every row is either loaded or rejected, so a divergence
    between the two could never lose a row silently (tests pin them together).
    """
    conds = [column_bad_expr(source, c, now_utc) for c in source.columns]
    full = "coalesce(" + "\n or ".join(f"({c})" for c in conds) + ", true)"
    return f"case when {fast_good_expr(source, now_utc)} then false else {full} end"


_FAST_PATTERN = {
    "int": r"[+-]?[0-9]+",
    "decimal": r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)",
    "timestamp": TIMESTAMP_REGEX,
    "bool": "(" + "|".join(b for b in BOOL_ACCEPTED if b) + ")",
}


def fast_good_expr(source: Source, now_utc: datetime) -> str:
    """Boolean that is true only for rows that break no rule, in a few operations per row.

    All typed values are joined with '|' and matched by one regular expression of
    their canonical shapes (a typed value never contains '|'); then timestamps and
    dates are parsed once. Rows it does not accept are judged by the full rules, so
    it may be strict (e.g. 'TRUE', ' 5 ') but never lenient.
    """
    parts: list[str] = []
    checks: list[str] = []
    for col in source.columns:
        v = q(col.name)
        minimum = MINIMUM_VALUE.get((source.name, col.name))
        if col.kind == "int" and minimum == 1:
            pattern = "[1-9][0-9]*"
        elif col.kind == "int" and minimum is not None:
            pattern = _FAST_PATTERN["int"]
            checks.append(f"coalesce(try_cast({v} as hugeint) >= {minimum}, {'false' if col.required else 'true'})")
        elif col.kind == "enum":
            pattern = "(" + "|".join(re_escape(a) for a in col.accepted if a) + ")"
        elif col.kind in _FAST_PATTERN:
            pattern = _FAST_PATTERN[col.kind]
        elif col.kind == "date":
            pattern = None
            fmts = "[" + ", ".join(lit(f) for f in DATE_STRPTIME_FORMATS) + "]"
            ok = f"try_strptime({v}, {fmts}) is not null"
            checks.append(f"({ok})" if col.required else f"({v} is null or {ok})")
        else:  # id, text, email, phone: only "required" applies
            pattern = None
            if col.required:
                checks.append(f"ascii({v}) > 32")
        if pattern is not None:
            parts.append(f"coalesce({v}, '')")
            checks_pattern = pattern if col.required else f"({pattern})?"
            parts[-1] = (parts[-1], checks_pattern)  # type: ignore[assignment]
        if col.kind == "timestamp":
            limit = lit(_future_limit(now_utc))
            ok = f"try_cast({v} as timestamptz) <= timestamptz {limit}"
            checks.append(f"coalesce({ok}, false)" if col.required else f"({v} is null or coalesce({ok}, false))")
    values = ", ".join(p[0] for p in parts)  # type: ignore[index]
    regex = r"\|".join(p[1] for p in parts)  # type: ignore[index]
    conds = [f"regexp_full_match(concat_ws('|', {values}), {lit(regex)})"] if parts else []
    return "coalesce(" + " and ".join(conds + checks) + ", false)"


def re_escape(text: str) -> str:
    return "".join("\\" + ch if not ch.isalnum() and ch != "_" else ch for ch in text)


def column_bad_expr(source: Source, col: Column, now_utc: datetime) -> str:
    """Boolean: does this column's value break any of its rules? Timestamps take a fast path
    (one regex and one cast on the untrimmed value) and fall back to the full rules."""
    conds = [_condition_of(e) for e in column_violations(source, col, now_utc)]
    full = " or ".join(f"({c})" for c in conds) if conds else "false"
    if col.kind != "timestamp":
        return full
    v = q(col.name)
    return (f"case when regexp_full_match({v}, {lit(TIMESTAMP_REGEX)}) "
            f"then coalesce(try_cast({v} as timestamptz) > timestamptz {lit(_future_limit(now_utc))}, true) "
            f"else {full} end")


def _future_limit(now_utc: datetime) -> str:
    return (now_utc + FUTURE_GRACE).strftime("%Y-%m-%d %H:%M:%S+00")


def _condition_of(violation_sql: str) -> str:
    assert violation_sql.startswith("case when ") and " then {'column'" in violation_sql
    return violation_sql[len("case when "):violation_sql.index(" then {'column'")]
