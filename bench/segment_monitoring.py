"""Time segment validation, the alert check and the segment report on an existing warehouse.

    .venv/bin/python bench/segment_monitoring.py --warehouse data/warehouse/warehouse.duckdb \
        --reports /tmp/bench-reports [--record] [--label small]

--synthetic N first writes a warehouse of N customers with the marts' columns
(random values in DuckDB SQL, seven segments that differ, RFM columns and six
weekly history points) to --warehouse, for a scale figure where no large
warehouse is at hand.

Without --record the warehouse is opened read-only (validation results and the
alert snapshot are computed but not written), so it can time someone else's
warehouse; the report goes to --reports. Imports are done before the clocks
start (reported separately). Prints one JSON document and writes it to
bench/results/segment_monitoring_<label>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

T0 = time.perf_counter()
import duckdb  # noqa: E402

from segmentation.alerts import _current_sizes, find_baseline, size_alerts  # noqa: E402
from segmentation.monitoring import MonitoringConfig, current_as_of  # noqa: E402
from segmentation.segment_report import _plt, write_report  # noqa: E402
from segmentation.validation import compute_validation, record_validation  # noqa: E402

_plt()
import scipy.stats  # noqa: E402,F401

IMPORT_S = time.perf_counter() - T0


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)


def synthetic_warehouse(path: Path, customers: int) -> None:
    """N customers in marts.customer_profile / customer_segments / segment_summary (+ history marts)."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("select setseed(0.42)")
    con.execute("create schema marts")
    con.execute(f"""
        create table marts.customer_segments as
        with base as (select i, random() as u from range({customers}) t(i))
        select 'c' || i as customer_key,
               case when u < 0.03 then 'vip' when u < 0.11 then 'new' when u < 0.18 then 'cart_abandoner'
                    when u < 0.43 then 'active' when u < 0.58 then 'at_risk' when u < 0.78 then 'dormant'
                    else 'prospect' end as segment,
               1 as segment_priority, 'rule' as segment_rule, date '2026-11-25' as as_of_date,
               case when u < 0.78 then 1 + (i % 5) end as rfm_recency_score,
               case when u < 0.78 then 1 + ((i // 5) % 5) end as rfm_frequency_score,
               case when u < 0.78 then 1 + ((i // 25) % 5) end as rfm_monetary_score,
               case when u < 0.78 then 'champions' else 'no_purchase' end as rfm_segment
        from base""")
    con.execute("""
        create table marts.customer_profile as
        select customer_key,
               round(case segment when 'prospect' then 0 else (1 + random()) * 100 * segment_priority
                     * (case segment when 'vip' then 8 when 'active' then 3 else 1 end) end, 2) as revenue_365d,
               case segment when 'prospect' then 0 else (random() * 6)::int end as orders_365d,
               case segment when 'prospect' then 0 else (random() * 3)::int end as orders_90d,
               round(random() * 40 * (case segment when 'vip' then 2 else 1 end), 2) as engagement_score,
               (random() * 12)::int as sessions_30d, (random() * 3)::int as email_clicks_90d, as_of_date
        from marts.customer_segments""")
    con.execute("""create table marts.segment_summary as select segment, min(segment_priority) as segment_priority,
        count(*) as customers, count(*) / sum(count(*)) over () as share, null::double as avg_revenue_365d,
        null::double as avg_orders_365d, max(as_of_date) as as_of_date from marts.customer_segments group by 1""")
    con.execute("""create table marts.segment_size_history as
        select (date '2026-11-25' - (7 * w)::integer)::date as as_of_date, segment,
               (customers * (0.9 + 0.2 * random()))::bigint as customers, share
        from marts.segment_summary, range(6) t(w)""")
    con.execute("""create table marts.segment_transitions as
        select date '2026-11-18' as from_as_of_date, date '2026-11-25' as to_as_of_date,
               a.segment as from_segment, b.segment as to_segment,
               case when a.segment = b.segment then a.customers else (random() * 500)::bigint end as customers
        from marts.segment_summary a, marts.segment_summary b""")
    con.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--warehouse", required=True)
    p.add_argument("--reports", required=True)
    p.add_argument("--record", action="store_true", help="write meta.* (default: read-only)")
    p.add_argument("--label", default="run")
    p.add_argument("--synthetic", type=int, default=0, help="first build a synthetic warehouse of N customers")
    p.add_argument("--memory-limit", default=os.environ.get("SEGMENTS_DUCKDB_MEMORY_LIMIT", "1GB"))
    args = p.parse_args()

    if args.synthetic:
        _, build_s, _ = _timed(lambda: synthetic_warehouse(Path(args.warehouse), args.synthetic))
        print(f"synthetic warehouse of {args.synthetic:,} customers built in {build_s} s")
    config = MonitoringConfig.load(Path(__file__).resolve().parents[1] / "dbt_project")
    con = duckdb.connect(args.warehouse, read_only=not args.record)
    con.execute(f"set memory_limit = '{args.memory_limit}'")
    customers = con.execute("select count(*) from marts.customer_segments").fetchone()[0]
    result, v_wall, v_cpu = _timed(lambda: compute_validation(con, "bench", config))
    if args.record:
        _, r_wall, _ = _timed(lambda: record_validation(con, result))
        v_wall = round(v_wall + r_wall, 2)

    def alerts():
        current = _current_sizes(con)
        baseline = find_baseline(con, "bench", current_as_of(con))
        return size_alerts(baseline.sizes, current, config) if baseline else []

    _, a_wall, a_cpu = _timed(alerts)
    path, rep_wall, rep_cpu = _timed(lambda: write_report(con, Path(args.reports), "bench"))
    con.close()
    out = {
        "label": args.label, "warehouse": args.warehouse, "customers": customers,
        "kpi_tests": len(result.tests), "groupings": sorted({t.grouping for t in result.tests}),
        "import_s": round(IMPORT_S, 2),
        "validation_wall_s": v_wall, "validation_cpu_s": v_cpu,
        "alert_check_wall_s": a_wall, "alert_check_cpu_s": a_cpu,
        "report_wall_s": rep_wall, "report_cpu_s": rep_cpu, "report_kb": path.stat().st_size // 1024,
        "peak_rss_mib": round(_hwm_mib()), "duckdb_memory_limit": args.memory_limit,
        "load_average_1m": os.getloadavg()[0],
    }
    print(json.dumps(out, indent=2))
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"segment_monitoring_{args.label}.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
