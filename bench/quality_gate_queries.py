"""Time the raw quality gate on one load batch, query by query.

Runs the gate's plan and Great Expectations validation (as run_gate does,
without recording results) on a batch of an existing warehouse and times
every SQL statement GE sends, through a SQLAlchemy cursor event. Prints the
validation's wall time, the SQL total and the slowest statements. The batch
defaults to the first one loaded (the full load, at `large` 46M events).
GE appends nothing to meta.quality_results here, but it does rebuild the
Data Docs under the warehouse's reports folder.

    SEGMENTS_HOME=bench/out/large .venv/bin/python bench/quality_gate_queries.py [--batch-id ID] [--top 10]

The suites as they were before a change, for a before/after comparison:

    mkdir -p /tmp/expectations_old/suites && cp expectations/suites/*.json /tmp/expectations_old/suites/
    for f in raw_web_events raw_order_lines; do
        git show e301392~1:expectations/suites/$f.json > /tmp/expectations_old/suites/$f.json; done
    SEGMENTS_EXPECTATIONS=/tmp/expectations_old SEGMENTS_HOME=bench/out/large .venv/bin/python bench/quality_gate_queries.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from segmentation import quality  # noqa: E402
from segmentation.config import Settings  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-id", help="default: the first batch loaded into raw.web_events")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()

    settings = Settings.from_env()
    batch_id = args.batch_id
    if batch_id is None:
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        batch_id = con.execute("select _batch_id from raw.web_events group by _batch_id "
                               "order by min(_loaded_at) limit 1").fetchone()[0]
        con.close()

    timings: list[tuple[float, str]] = []

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        timings.append((time.perf_counter() - conn.info["query_start"].pop(), " ".join(statement.split())))

    suites = quality.load_suites(settings.expectations, "raw")
    params = quality.suite_parameters(settings, "raw")
    _, targets = quality._plan(settings, "raw", batch_id, suites)
    start = time.perf_counter()
    quality._validate(settings, "raw", "bench", targets, params)
    wall = time.perf_counter() - start
    print(f"batch {batch_id}: validation {wall:.1f} s, {len(timings)} SQL statements, "
          f"{sum(t for t, _ in timings):.1f} s in SQL")
    for seconds, statement in sorted(timings, reverse=True)[:args.top]:
        print(f"{seconds:7.2f}  {statement[:220]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
