"""Fixed cost of one in-process `dbt build` of a small model, with and without --no-write-json.

Each cosmos task of the DAG is one in-process dbtRunner invocation like the ones
here (same flags as dags/customer_segments.py, minus the temp project copy). The
two variants alternate, after one warm-up each, so both see the same cache state.

    SEGMENTS_WAREHOUSE=<warehouse.duckdb> .venv/bin/python bench/dbt_task_overhead.py \
        --select fqn:segments.marts.segment_summary --as-of 2026-11-26 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--select", default="fqn:segments.marts.segment_summary")
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from dbt.cli.main import dbtRunner

    runner = dbtRunner()
    project = str(REPO / "dbt_project")
    base = ["build", "--select", args.select, "--vars", f"as_of_date: '{args.as_of}'",
            "--indirect-selection", "buildable", "--project-dir", project, "--profiles-dir", project, "--quiet"]
    variants = {"write_json": base, "no_write_json": base + ["--no-write-json"]}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for rnd in range(args.repeat + 1):
        for name, cmd in variants.items():
            start = time.perf_counter()
            result = runner.invoke(cmd)
            seconds = time.perf_counter() - start
            if not result.success:
                raise SystemExit(f"dbt {' '.join(cmd)} failed")
            if rnd:  # round 0 warms up
                times[name].append(seconds)
    out = {k: {"median_s": round(statistics.median(v), 3), "runs_s": [round(x, 3) for x in v]} for k, v in times.items()}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
