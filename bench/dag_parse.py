"""DAG parse time, as Airflow's DAG processor sees it (issue 7: under 2 seconds).

The processor pre-imports the modules a DAG file imports before it times the
parse ([dag_processor] parsing_pre_import_modules), so Airflow and cosmos are
imported first and excluded, then dags/customer_segments.py is parsed N times
in one fresh process with DagBag; DagBag's own per-file duration is reported
(best and median), with the manifest's node count. Needs
dbt_project/target/manifest.json (`make dbt-parse`).

    .venv/bin/python bench/dag_parse.py [--repeat 5] [--json bench/results/dag_parse.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAG_FILE = REPO / "dags" / "customer_segments.py"
MANIFEST = REPO / "dbt_project" / "target" / "manifest.json"

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk, cosmos, cosmos.constants
from cosmos import DbtTaskGroup
from airflow.dag_processing.dagbag import DagBag
imports = time.perf_counter() - t0
durations = []
for _ in range({repeat}):
    bag = DagBag(dag_folder={dag!r})
    if bag.import_errors:
        sys.exit(f"import errors: {{bag.import_errors}}")
    durations += [s.duration.total_seconds() for s in bag.dagbag_stats]
    tasks = len(bag.dags["customer_segments"].tasks)
print(json.dumps({{"durations_s": durations, "pre_import_s": imports, "tasks": tasks}}))
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", type=Path, help="write the result here")
    args = p.parse_args()
    if not MANIFEST.exists():
        sys.exit(f"{MANIFEST} missing: run `make dbt-parse` first")
    nodes = json.loads(MANIFEST.read_text())["nodes"]
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD.format(repeat=args.repeat, dag=str(DAG_FILE))],
                         capture_output=True, text=True, env=os.environ.copy())
    if out.returncode != 0:
        sys.exit(out.stderr[-3000:])
    child = json.loads(out.stdout.strip().splitlines()[-1])
    result = {
        "what": "DagBag parse of dags/customer_segments.py, Airflow + cosmos pre-imported",
        "manifest_nodes": len(nodes),
        "dag_tasks": child["tasks"],
        "parses": len(child["durations_s"]),
        "best_s": round(min(child["durations_s"]), 3),
        "median_s": round(statistics.median(child["durations_s"]), 3),
        "pre_import_s": round(child["pre_import_s"], 3),
        "process_wall_s": round(time.perf_counter() - started, 1),
        "load_average_1m": os.getloadavg()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
