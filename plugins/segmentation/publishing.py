"""Publish the BI-facing tables to a serving DuckDB file, atomically.

DuckDB allows one writer per file. BI tools therefore never open the
warehouse: they open the serving file, which is written whole under a
temporary name next to it and then renamed over the old one (``os.replace``,
atomic on POSIX). A reader that already has the old file open keeps reading
the old inode; a reader that opens after the rename sees the new run. Nobody
ever sees half a run, and a failed run never reaches this step, so the last
good publication stays in place byte for byte.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from segmentation.config import Settings
from segmentation.errors import PublishError
from segmentation.inprocess import release_inprocess_dbt

log = logging.getLogger(__name__)

# warehouse relation -> table name in the serving file (schema main).
PUBLISHED_TABLES: dict[str, str] = {
    "marts.customer_profile": "customer_profile",
    "marts.customer_segments": "customer_segments",
    "marts.segment_summary": "segment_summary",
}
# Published when present: history the report and BI charts read.
OPTIONAL_TABLES: dict[str, str] = {
    "meta.quality_results": "quality_results",
    "marts.customer_tags": "customer_tags",
    "marts.segment_history": "segment_history",
    "marts.segment_size_history": "segment_size_history",
    "marts.segment_transitions": "segment_transitions",
    "marts.segment_membership_events": "segment_membership_events",
    "marts.customer_consent": "customer_consent",
    "marts.customer_consent_history": "customer_consent_history",
}


@dataclass(frozen=True)
class Publication:
    run_id: str
    path: Path
    sha256: str
    row_counts: dict[str, int]
    published_at: datetime


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _relation_exists(con: duckdb.DuckDBPyConnection, catalog: str, relation: str) -> bool:
    schema, name = relation.split(".")
    row = con.execute(
        "select count(*) from information_schema.tables where table_catalog = ? and table_schema = ? and table_name = ?",
        [catalog, schema, name],
    ).fetchone()
    return bool(row and row[0])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(settings: Settings, run_id: str) -> Publication:
    """Copy the BI-facing marts to ``settings.serving`` and swap it in atomically.

    The copy is made through the warehouse connection (the publisher runs in the
    single-writer pool like every other warehouse task), by attaching a fresh
    temporary file, filling it and renaming it over the served one.
    """
    settings.serving.parent.mkdir(parents=True, exist_ok=True)
    safe_run = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    tmp = settings.serving.with_name(f".{settings.serving.name}.{safe_run}.tmp")
    tmp.unlink(missing_ok=True)
    if not settings.warehouse.exists():
        raise PublishError(f"{settings.warehouse}: warehouse file does not exist; nothing to publish")

    published_at = datetime.now(timezone.utc).replace(tzinfo=None)
    counts: dict[str, int] = {}
    release_inprocess_dbt()
    con = duckdb.connect(str(settings.warehouse))
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        missing = [rel for rel in PUBLISHED_TABLES if not _relation_exists(con, catalog, rel)]
        if missing:
            raise PublishError(f"{settings.warehouse}: missing {', '.join(missing)}; run dbt build first")
        tables = dict(PUBLISHED_TABLES)
        tables.update({rel: t for rel, t in OPTIONAL_TABLES.items() if _relation_exists(con, catalog, rel)})
        con.execute(f"attach '{tmp}' as serving_tmp")
        try:
            for relation, target in tables.items():
                con.execute(f"create table serving_tmp.main.{target} as select * from {relation}")
                counts[target] = con.execute(f"select count(*) from serving_tmp.main.{target}").fetchone()[0]
            # Privacy (docs/privacy.md): the only form of email/phone in the serving file is a
            # salted hash; without a configured salt this refuses to publish (ConfigError).
            if _relation_exists(con, catalog, "restricted.customer_pii"):
                from segmentation.privacy import MATCH_KEYS_TABLE, match_keys_sql, require_salt

                salt = require_salt("publishing hashed identifiers (customer_match_keys) to the serving file")
                con.execute(f"create table serving_tmp.main.{MATCH_KEYS_TABLE} as {match_keys_sql(salt)}")
                counts[MATCH_KEYS_TABLE] = con.execute(
                    f"select count(*) from serving_tmp.main.{MATCH_KEYS_TABLE}").fetchone()[0]
            as_of = con.execute("select max(as_of_date) from serving_tmp.main.customer_segments").fetchone()[0]
            con.execute(
                "create table serving_tmp.main.publication as "
                "select ?::varchar as run_id, ?::timestamp as published_at, ?::date as as_of_date",
                [run_id, published_at, as_of],
            )
        finally:
            con.execute("detach serving_tmp")
        _fsync(tmp)
        os.replace(tmp, settings.serving)
        _fsync(settings.serving.parent)
        digest = _sha256(settings.serving)
        _record_publication(con, run_id, published_at, as_of, settings.serving, digest, counts)
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise PublishError(f"publishing {settings.warehouse} -> {settings.serving} failed: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    log.info("published run %s to %s (%s)", run_id, settings.serving,
             ", ".join(f"{t}={n}" for t, n in counts.items()))
    return Publication(run_id, settings.serving, digest, counts, published_at)


def _record_publication(con: duckdb.DuckDBPyConnection, run_id: str, published_at: datetime, as_of,
                        serving: Path, digest: str, counts: dict[str, int]) -> None:
    """Keep a row per publication in the warehouse (meta.publications)."""
    con.execute("create schema if not exists meta")
    con.execute(
        """create table if not exists meta.publications (
               run_id varchar, published_at timestamp, as_of_date date, serving_path varchar,
               sha256 varchar, customers bigint)"""
    )
    con.execute("delete from meta.publications where run_id = ?", [run_id])
    con.execute(
        "insert into meta.publications values (?, ?, ?, ?, ?, ?)",
        [run_id, published_at, as_of, str(serving), digest, counts.get("customer_segments", 0)],
    )


def read_summary(serving: Path) -> tuple[list[tuple], dict]:
    """Rows of the published segment summary and the publication record."""
    if not serving.exists():
        raise PublishError(f"{serving}: nothing published yet; run `make run` first")
    con = duckdb.connect(str(serving), read_only=True)
    try:
        rows = con.execute(
            """select segment, customers, share, avg_revenue_365d
               from main.segment_summary order by segment_priority"""
        ).fetchall()
        pub = con.execute("select run_id, published_at, as_of_date from main.publication").fetchone()
    finally:
        con.close()
    return rows, {"run_id": pub[0], "published_at": pub[1], "as_of_date": pub[2]}


def format_summary(rows: list[tuple], publication: dict, serving: Path) -> str:
    """The segment table as plain text (Airflow logs, CLI)."""
    header = f"{'segment':<16}{'customers':>11}{'share':>9}{'avg spend 365d (EUR)':>23}"
    lines = [
        f"Segments as of {publication['as_of_date']} (run {publication['run_id']})",
        header,
        "-" * len(header),
    ]
    total = 0
    for segment, customers, share, avg_spend in rows:
        total += customers
        spend = f"{avg_spend:,.2f}" if avg_spend is not None else "-"
        lines.append(f"{segment:<16}{customers:>11,}{share:>9.1%}{spend:>23}")
    lines.append("-" * len(header))
    lines.append(f"{'total':<16}{total:>11,}")
    lines.append(f"Serving database (open read-only in a BI tool): {serving}")
    return "\n".join(lines)


def print_summary(settings: Settings) -> None:
    rows, pub = read_summary(settings.serving)
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Segments as of {pub['as_of_date']} (run {pub['run_id']})")
        for col, justify in (("segment", "left"), ("customers", "right"), ("share", "right"),
                             ("avg spend 365d (EUR)", "right")):
            table.add_column(col, justify=justify)
        for segment, customers, share, avg_spend in rows:
            table.add_row(segment, f"{customers:,}", f"{share:.1%}",
                          f"{avg_spend:,.2f}" if avg_spend is not None else "-")
        console = Console()
        console.print(table)
        console.print(f"Serving database (open read-only in a BI tool): [bold]{settings.serving}[/bold]")
    except ImportError:  # pragma: no cover - rich is a dependency, plain text is the fallback
        print(format_summary(rows, pub, settings.serving))
    from segmentation.report import segment_size_chart

    print(f"Chart: {segment_size_chart(settings.serving, settings.reports)}")
