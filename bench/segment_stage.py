"""Time the segment stage (the marts models) and `segments preview` on an existing warehouse.

    .venv/bin/python bench/segment_stage.py --warehouse W --as-of 2026-11-25 --label small
    flock /work/large/.lock .venv/bin/python bench/segment_stage.py --warehouse W ... --label large

The warehouse must already hold the upstream layers (staging, intermediate)
built for --as-of, e.g. by `make run`, a DAG run or `dbt build`. Steps, each a
child process timed with a monotonic clock, peak RSS from /usr/bin/time -v:

1. `dbt run` of the upstream models this branch changed
   (int_orders_resolved, int_customer_order_features), so the profile has its
   new columns: reported, not part of the stage;
2. optional (--previous-slice): a synthetic previous day of segment_history,
   the current slice copied to as_of - 1 day with 5% of customers moved to
   another segment, so transitions and events have a real day-over-day pair
   to compute (without it the first run of history has no pair);
3. the segment stage: `dbt run` of int_customer_engagement_decayed and every
   model in models/marts (customer_profile, customer_segments, customer_tags,
   segment_summary, segment_history, segment_size_history,
   segment_transitions, segment_membership_events); per-model times from
   dbt's run_results.json;
4. `segments publish` to a serving file beside the warehouse;
5. `segments preview` with an edited rule file (the VIP order threshold
   lowered from > 3 to > 2), best of --repeat runs.

Without access to a built large warehouse, --synthesize-from SRC --scale N
builds --warehouse from SRC's marts.customer_profile and
intermediate.int_customer_engagement_decayed, each customer copied N times
under new keys with recency/frequency/revenue shifted per copy, and times
only the models downstream of those two (customer_profile and the decay model
themselves are not rebuilt: they need the raw layer).

Results: JSON to --out (default bench/results/segment_stage_<label>.json) and
a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DBT_PROJECT = REPO / "dbt_project"
STAGE_SELECT = ["int_customer_engagement_decayed", "path:models/marts"]
UPSTREAM_SELECT = ["int_orders_resolved", "int_customer_order_features"]


def timed(name: str, cmd: list[str], env: dict[str, str]) -> dict:
    print(f"[bench] {name}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.monotonic() - start
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    result = {"name": name, "seconds": round(seconds, 2), "exit_code": proc.returncode,
              "peak_rss_mib": round(int(peak.group(1)) / 1024, 1) if peak else None}
    print(f"[bench] {name}: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mib']} MiB, "
          f"exit {proc.returncode}", flush=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{name} failed with exit code {proc.returncode}")
    finished = re.search(r"Finished running .* in [^(]*\(([0-9.]+)s\)", proc.stdout)
    if finished:  # dbt's own time for the selected nodes, without start-up and parse
        result["dbt_execution_seconds"] = float(finished.group(1))
    result["stdout_tail"] = proc.stdout[-1500:]
    return result


def dbt(command: str, select: list[str], as_of: str, work: Path, warehouse: Path, env: dict[str, str]) -> list[str]:
    return [str(BIN / "dbt"), command, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", f'{{as_of_date: "{as_of}"}}', "--select", *select]


def model_times(work: Path) -> list[tuple[str, float]]:
    results = json.loads((work / "target" / "run_results.json").read_text())
    return [(r["unique_id"].split(".")[-1], round(r["execution_time"], 2)) for r in results["results"]]


def add_previous_slice(warehouse: Path, as_of: str) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists marts")
        exists = con.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'marts' and table_name = 'segment_history'").fetchone()[0]
        if not exists:
            raise SystemExit("marts.segment_history does not exist: run the stage once before --previous-slice")
        con.execute("delete from marts.segment_history where as_of_date = cast(? as date) - 1", [as_of])
        con.execute("""
            insert into marts.segment_history (as_of_date, customer_key, segment, rfm_segment, lifecycle_stage)
            select cast(? as date) - 1, customer_key,
                   case when hash(customer_key) % 20 = 0
                        then case segment when 'active' then 'at_risk' else 'active' end
                        else segment end,
                   rfm_segment, lifecycle_stage
            from marts.segment_history where as_of_date = cast(? as date)""", [as_of, as_of])
        return con.execute("select count(*) from marts.segment_history").fetchone()[0]
    finally:
        con.close()


SYNTHETIC_SELECT = ["customer_segments+", "customer_tags"]


def synthesize(source: Path, target: Path, scale: int) -> int:
    """A warehouse with source's profile and decayed engagement, each customer copied `scale` times."""
    import duckdb

    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute(f"attach '{source}' as src (read_only)")
        con.execute("create schema marts")
        con.execute("create schema intermediate")
        # copy k of customer c: key c_k; recency shifted by k % 11 days, counts and money by (k % 5) * 5%
        con.execute(f"""
            create table marts.customer_profile as
            select * replace (
                       p.customer_key || '_' || k as customer_key,
                       p.days_since_last_order + k % 11 as days_since_last_order,
                       p.days_since_first_order + k % 11 as days_since_first_order,
                       cast(p.revenue_365d * (1 + (k % 5) * 0.05) as decimal(18, 2)) as revenue_365d,
                       cast(p.lifetime_revenue * (1 + (k % 5) * 0.05) as decimal(18, 2)) as lifetime_revenue,
                       p.lifetime_orders + case when p.lifetime_orders > 0 then k % 3 else 0 end as lifetime_orders)
            from src.marts.customer_profile as p, range({scale}) as r(k)""")
        con.execute(f"""
            create table intermediate.int_customer_engagement_decayed as
            select e.customer_key || '_' || k as customer_key, e.engagement_decayed * (1 + (k % 5) * 0.05)
                       as engagement_decayed, e.last_engaged_on
            from src.intermediate.int_customer_engagement_decayed as e, range({scale}) as r(k)""")
        return con.execute("select count(*) from marts.customer_profile").fetchone()[0]
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--skip-upstream", action="store_true", help="the upstream models are already this branch's")
    parser.add_argument("--previous-slice", action="store_true",
                        help="run the stage once, add a synthetic previous day to history, then time a second run")
    parser.add_argument("--repeat", type=int, default=3, help="preview runs (best is reported)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--synthesize-from", type=Path, help="build --warehouse from this warehouse's profile")
    parser.add_argument("--scale", type=int, default=100, help="copies per customer with --synthesize-from")
    args = parser.parse_args(argv)

    warehouse = args.warehouse.resolve()
    serving = warehouse.parent / "serving_segment_stage.duckdb"
    work = Path(tempfile.mkdtemp(prefix=f"segment_stage_{args.label}_"))
    env = {**os.environ, "SEGMENTS_WAREHOUSE": str(warehouse), "SEGMENTS_SERVING": str(serving),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    out: dict = {"label": args.label, "warehouse": str(warehouse), "as_of": args.as_of,
                 "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                 "loadavg_start": os.getloadavg()}

    select = STAGE_SELECT
    if args.synthesize_from:
        start = time.monotonic()
        out["synthetic_customers"] = synthesize(args.synthesize_from.resolve(), warehouse, args.scale)
        out["synthesize_seconds"] = round(time.monotonic() - start, 2)
        out["synthetic_source"] = str(args.synthesize_from)
        select, args.skip_upstream = SYNTHETIC_SELECT, True
    if not args.skip_upstream:
        out["upstream"] = timed("upstream (int_orders_resolved, int_customer_order_features)",
                                dbt("run", UPSTREAM_SELECT, args.as_of, work, warehouse, env), env)
    if args.previous_slice:
        timed("segment stage (first run, fills history)", dbt("run", select, args.as_of, work, warehouse, env), env)
        out["history_rows_with_previous_slice"] = add_previous_slice(warehouse, args.as_of)
    out["stage"] = timed("segment stage", dbt("run", select, args.as_of, work, warehouse, env), env)
    out["stage"]["models"] = model_times(work)
    out["publish"] = timed("publish", [str(BIN / "segments"), "publish", "--run-id", f"bench-{args.label}"], env)

    rules = work / "edited_rules.yml"
    text = (DBT_PROJECT / "dbt_project.yml").read_text()
    edited = text.replace('when: "orders_30d > 3 and days_since_last_order < 30',
                          'when: "orders_30d > 2 and days_since_last_order < 30')
    if edited == text:
        raise SystemExit("could not edit the VIP rule for the preview")
    rules.write_text(edited)
    previews = [timed(f"preview #{i + 1}", [str(BIN / "segments"), "preview", "--rules", str(rules)], env)
                for i in range(args.repeat)]
    out["preview"] = min(previews, key=lambda r: r["seconds"])
    out["preview_all_seconds"] = [p["seconds"] for p in previews]
    out["loadavg_end"] = os.getloadavg()

    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out["customers"] = con.execute("select count(*) from marts.customer_segments").fetchone()[0]
        out["history_rows"] = con.execute("select count(*) from marts.segment_history").fetchone()[0]
    finally:
        con.close()

    path = args.out or REPO / "bench" / "results" / f"segment_stage_{args.label}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"\n## segment stage, {args.label}: {out['customers']:,} customers, {out['history_rows']:,} history rows\n")
    print("| step | wall s | of which dbt execution s | peak RSS MiB |\n|---|---:|---:|---:|")
    for key in ("upstream", "stage", "publish", "preview"):
        if key in out:
            step = out[key]
            print(f"| {step['name']} | {step['seconds']:.1f} | {step.get('dbt_execution_seconds', '')} | "
                  f"{step['peak_rss_mib']} |")
    print("\n| model | s |\n|---|---:|")
    for name, seconds in out["stage"]["models"]:
        print(f"| {name} | {seconds:.2f} |")
    print(f"\nload average start/end: {out['loadavg_start']} / {out['loadavg_end']}; results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
