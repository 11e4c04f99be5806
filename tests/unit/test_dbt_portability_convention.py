"""The dispatch convention (docs/portability.md): adapter-specific SQL lives only
in dbt_project/macros/cross_db/. Models and other macros use those macros or
dbt's cross-database macros, so the project builds on DuckDB, PostgreSQL and
Spark (tests/portability proves the builds; this fast check catches a
DuckDB-only function before anyone runs them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
CROSS_DB = DBT_PROJECT / "macros" / "cross_db"

# SQL that is not portable between DuckDB, PostgreSQL and Spark, with what to use instead.
# (?<![\w.]) skips calls of project macros such as segments.try_cast(...).
FORBIDDEN: dict[str, str] = {
    r"(?<![\w.])(try_)?strptime\s*\(": "segments.parse_date / segments.parse_timestamp_utc",
    r"(?<![\w.])strftime\s*\(": "a cross_db macro (date formatting differs everywhere)",
    r"(?<![\w.])regexp_(full_match|matches|replace|extract)\s*\(": "segments.regexp_full_match / regexp_replace_all",
    r"\brlike\b|\bsimilar\s+to\b": "segments.regexp_full_match",
    r"(?<![\w.])try_cast\s*\(": "segments.try_cast",
    r"::": "cast(x as type)",
    r"\bqualify\b": "a row_number() subquery (PostgreSQL has no QUALIFY)",
    r"(?<![\w.])(list|struct)_\w+\s*\(|\bstruct_pack\b|(?<![\w.])unnest\s*\(": "no nested types in portable models",
    r"(?<![\w.])epoch\s*\(": "segments.epoch_seconds",
    r"(?<![\w.])(string_agg|group_concat|array_agg|list)\s*\(": "dbt.listagg",
    r"(?<![\w.])(quantile|quantile_cont|median|percentile_cont)\s*\(": "segments.percentile_cont",
    r"(?<![\w.])(arg_max|arg_min|max_by|min_by)\s*\(": "segments.arg_max / segments.arg_min",
    r"(?<![\w.])(levenshtein|jaro_winkler_similarity|jaro_similarity)\s*\(": "segments.levenshtein",
    r"(?<![\w.])(md5|sha256|sha2|hash)\s*\(": "dbt.hash (md5) / segments.sha256",
    r"(?<![\w.])(date_diff|datediff|date_add|date_sub|dateadd)\s*\(|\binterval\s+'": "dbt.datediff / dbt.dateadd",
    r"(?<![\w.])timezone\s*\(|\bat\s+time\s+zone\b": "segments.parse_timestamp_utc",
    r"\bdouble\s+precision\b": "segments.type_double()",
    r"\bilike\b": "lower(x) like ...",
    r"(?<![\w.])(strpos|instr|locate)\s*\(": "dbt.position (Spark has no strpos)",
}


def _portable_text(path: Path) -> str:
    """The file without Jinja comments, Jinja expressions ({{ }}: macro calls) and SQL line comments."""
    text = path.read_text()
    text = re.sub(r"\{#.*?#\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    return re.sub(r"--[^\n]*", " ", text)


def _sql_files() -> list[Path]:
    files = sorted((DBT_PROJECT / "models").rglob("*.sql")) + sorted((DBT_PROJECT / "macros").rglob("*.sql"))
    files += sorted((DBT_PROJECT / "tests").rglob("*.sql")) + sorted((DBT_PROJECT / "snapshots").rglob("*.sql"))
    return [f for f in files if CROSS_DB not in f.parents]


@pytest.mark.parametrize("path", _sql_files(), ids=lambda p: str(p.relative_to(DBT_PROJECT)))
def test_sql_outside_cross_db_uses_no_adapter_specific_functions(path: Path):
    text = _portable_text(path)
    found = []
    for pattern, instead in FORBIDDEN.items():
        for match in re.finditer(pattern, text, flags=re.I):
            line = text[:match.start()].count("\n") + 1
            found.append(f"{path.relative_to(DBT_PROJECT)}:{line}: '{match.group(0).strip()}' is not portable; "
                         f"use {instead} (or add a dispatched macro in macros/cross_db/)")
    assert not found, "\n".join(found)


def test_every_dispatched_macro_outside_cross_db_is_gone():
    """adapter.dispatch and <adapter>__ implementations live in macros/cross_db/ only."""
    offenders = []
    for path in (DBT_PROJECT / "macros").rglob("*.sql"):
        if CROSS_DB in path.parents:
            continue
        text = path.read_text()
        if "adapter.dispatch" in text or re.search(r"\{%-?\s*macro\s+(duckdb|postgres|spark|default)__", text):
            offenders.append(str(path.relative_to(DBT_PROJECT)))
    assert not offenders, f"dispatched macros outside macros/cross_db/: {offenders}"


def test_each_cross_db_macro_has_duckdb_postgres_and_spark_behaviour():
    """A dispatched macro implements every supported adapter, or its default__ does (portable SQL / clear error)."""
    text = "\n".join(p.read_text() for p in CROSS_DB.glob("*.sql"))
    dispatched = set(re.findall(r"adapter\.dispatch\('(\w+)',\s*'segments'\)", text))
    assert dispatched, "no dispatched macros found in macros/cross_db"
    defined = set(re.findall(r"\{%-?\s*macro\s+(\w+)\s*\(", text))
    missing = []
    for name in sorted(dispatched):
        for adapter in ("duckdb", "postgres", "spark"):
            if f"{adapter}__{name}" not in defined and f"default__{name}" not in defined:
                missing.append(f"{adapter}__{name}")
    assert not missing, f"no implementation (and no default__) for {missing}"


def test_unit_test_names_fit_postgres_identifiers():
    """dbt creates a relation named after each unit test; PostgreSQL cuts identifiers at 63 bytes."""
    too_long = []
    for path in (DBT_PROJECT / "models").rglob("*.yml"):
        for unit_test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []) or []:
            if len(unit_test["name"].encode()) > 63:
                too_long.append(f"{path.relative_to(DBT_PROJECT)}: {unit_test['name']} ({len(unit_test['name'])})")
    assert not too_long, "unit test names longer than 63 bytes:\n" + "\n".join(too_long)
