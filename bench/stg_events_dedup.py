"""Time two compiled versions of stg_events__web_events on a copy of raw.web_events
and prove they give the same rows (issue 7, session 4; bench/RESULTS.md).

The kept warehouse is only read: raw.web_events is copied once into a scratch
DuckDB file, and each version's compiled SELECT (``dbt compile --select
stg_events__web_events`` against an empty warehouse, so is_incremental() is
false) is run as CREATE TABLE ... AS there, with the dbt profile's settings
(TimeZone UTC, memory_limit 6GB). The compiled SQL names the raw table as
"<db>"."raw"."web_events"; the script points it at the scratch copy.

    .venv/bin/python bench/stg_events_dedup.py --warehouse WAREHOUSE.duckdb \\
        --scratch /work/scratch/events/ev.duckdb old.sql new.sql

Wall time depends on the machine's load, so CPU time (user + sys of all
DuckDB threads) and the load average are printed with it.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

log = logging.getLogger("bench.stg_events_dedup")

RAW_RELATION = re.compile(r'"\w+"\."raw"\."web_events"')


@dataclass(frozen=True)
class Timing:
    name: str
    wall_s: float
    cpu_s: float
    rows: int
    load_before: float
    load_after: float


def connect(scratch: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(scratch))
    con.execute("set memory_limit = '6GB'")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    return con


def copy_raw_events(con: duckdb.DuckDBPyConnection, warehouse: Path) -> int:
    """raw.web_events of the warehouse (attached read-only) into the scratch file, once."""
    exists = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                         "and schema_name = 'raw' and table_name = 'web_events'").fetchone()[0]
    if not exists:
        con.execute(f"attach '{warehouse}' as kept (read_only)")
        con.execute("create schema if not exists raw")
        con.execute("create table raw.web_events as select * from kept.raw.web_events")
        con.execute("detach kept")
    return con.execute("select count(*) from raw.web_events").fetchone()[0]


def build(con: duckdb.DuckDBPyConnection, sql_file: Path) -> Timing:
    name = sql_file.stem
    sql = RAW_RELATION.sub("raw.web_events", sql_file.read_text())
    con.execute("create schema if not exists bench")
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    con.execute(f"create or replace table bench.{name} as {sql}")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = con.execute(f"select count(*) from bench.{name}").fetchone()[0]
    return Timing(name, wall, cpu, rows, load_before, os.getloadavg()[0])


def rows_only_in(con: duckdb.DuckDBPyConnection, left: str, right: str) -> int:
    return con.execute(f"select count(*) from (select * from bench.{left} except all "
                       f"select * from bench.{right})").fetchone()[0]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True, help="kept warehouse (read only)")
    parser.add_argument("--scratch", type=Path, required=True, help="scratch DuckDB file for the copy and outputs")
    parser.add_argument("old", type=Path, help="compiled SQL of the old model")
    parser.add_argument("new", type=Path, help="compiled SQL of the new model")
    args = parser.parse_args()
    con = connect(args.scratch)
    log.info("raw.web_events: %d rows", copy_raw_events(con, args.warehouse))
    for sql_file in (args.old, args.new):
        t = build(con, sql_file)
        log.info("%s: %.1f s wall, %.1f s CPU, %d rows, load average %.2f -> %.2f",
                 t.name, t.wall_s, t.cpu_s, t.rows, t.load_before, t.load_after)
    old, new = args.old.stem, args.new.stem
    log.info("rows only in %s: %d; only in %s: %d", old, rows_only_in(con, old, new), new, rows_only_in(con, new, old))


if __name__ == "__main__":
    main()
