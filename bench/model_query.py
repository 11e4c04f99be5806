"""Time compiled dbt model SELECTs against a warehouse and fingerprint their rows.

Each SQL file (``dbt compile --select MODEL [--full-refresh]`` output, from
target/compiled/...) runs as ``CREATE TABLE out AS <select>`` in a fresh
scratch DuckDB file, with the warehouse attached read-only under the name the
compiled SQL uses ("warehouse") and the dbt profile's settings (2 threads,
memory_limit 6GB, preserve_insertion_order false, TimeZone UTC). The
warehouse is never written. Per file it prints wall seconds, the process's
peak RSS (one file per process, so the peak is that file's) and a fingerprint
of the result: the row count and the sum of 64-bit row hashes, so two
versions of a model can be shown to give the same rows without a full diff.

    # the old and the new version of a model, compiled as a full refresh:
    git stash; (cd dbt_project && SEGMENTS_WAREHOUSE=$WH ../.venv/bin/dbt compile --full-refresh \\
        --select stg_orders__order_lines --target-path /tmp/old); git stash pop
    (cd dbt_project && SEGMENTS_WAREHOUSE=$WH ../.venv/bin/dbt compile --full-refresh \\
        --select stg_orders__order_lines --target-path /tmp/new)
    for v in old new; do .venv/bin/python bench/model_query.py --warehouse $WH \\
        /tmp/$v/compiled/segments/models/staging/orders/stg_orders__order_lines.sql; done

Add ``--fingerprint-table SCHEMA.TABLE`` to fingerprint a table of the
warehouse too (for instance the model as the pipeline built it).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb


def fingerprint(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    rows, total = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from (select * from {relation}) as t"
    ).fetchone()
    return int(rows), str(total)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sql", type=Path, help="a compiled model SELECT")
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--fingerprint-table", help="also fingerprint this table of the warehouse")
    ap.add_argument("--json", type=Path, help="append the result as one JSON line")
    args = ap.parse_args()

    sql = args.sql.read_text()
    with tempfile.TemporaryDirectory(prefix="model_query_") as tmp:
        con = duckdb.connect(str(Path(tmp) / "scratch.duckdb"))
        con.execute(f"set memory_limit = '{args.memory_limit}'; set threads = 2; "
                    "set preserve_insertion_order = false; set TimeZone = 'UTC'")
        con.execute(f"attach '{args.warehouse}' as warehouse (read_only)")
        start = time.perf_counter()
        con.execute(f"create table out as {sql}")
        wall = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows, total = fingerprint(con, "out")
        result = {"sql": str(args.sql), "wall_s": round(wall, 1), "peak_rss_mib": round(peak_mib),
                  "rows": rows, "row_hash_sum": total}
        if args.fingerprint_table:
            result["table"] = args.fingerprint_table
            result["table_rows"], result["table_row_hash_sum"] = fingerprint(
                con, f"warehouse.{args.fingerprint_table}")
        con.close()
    print(json.dumps(result))
    if args.json:
        with args.json.open("a") as f:
            f.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
