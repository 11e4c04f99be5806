"""Benchmark one tier end to end: generate -> Airflow DAG run -> per-stage timings.

    .venv/bin/python bench/run.py --size small      # or: make bench-small
    .venv/bin/python bench/run.py --size large      # or: make bench-large

Each stage runs as its own child process; wall time comes from a monotonic
clock and peak memory from that child's rusage (ru_maxrss, the peak resident
set of the process, which includes DuckDB's buffers and in-process dbt).
Per-task times inside the DAG run are read from Airflow's metadata DB.
Results go to bench/results/<size>.json and a markdown table on stdout; copy
the table into bench/RESULTS.md with the date and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Stage:
    name: str
    seconds: float
    peak_rss_mib: float
    exit_code: int


def run_stage(name: str, cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> Stage:
    print(f"[bench] {name}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd)
    _, status, rusage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    stage = Stage(name, round(seconds, 2), round(rusage.ru_maxrss / 1024, 1), code)
    print(f"[bench] {name}: {stage.seconds:.1f} s, peak RSS {stage.peak_rss_mib:.0f} MiB, exit {code}", flush=True)
    if code != 0:
        raise SystemExit(f"stage {name} failed with exit code {code}")
    return stage


def task_durations(airflow_home: Path, dag_id: str) -> list[tuple[str, float]]:
    con = sqlite3.connect(airflow_home / "airflow.db")
    try:
        run_id = con.execute(
            "select run_id from dag_run where dag_id = ? order by start_date desc limit 1", [dag_id]
        ).fetchone()[0]
        rows = con.execute(
            """select task_id, (julianday(end_date) - julianday(start_date)) * 86400.0
               from task_instance where dag_id = ? and run_id = ? order by start_date""",
            [dag_id, run_id],
        ).fetchall()
    finally:
        con.close()
    return [(t, round(s or 0.0, 2)) for t, s in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--size", choices=["tiny", "small", "large"], default="small")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--as-of", default="2026-11-25")
    ap.add_argument("--home", help="data root (default bench/out/<size>)")
    ap.add_argument("--keep", action="store_true", help="keep generated data afterwards")
    args = ap.parse_args()

    home = Path(args.home or REPO / "bench" / "out" / args.size).resolve()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = dict(os.environ)
    env.update({
        "SEGMENTS_HOME": str(home),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DBT_PROFILES_DIR": str(REPO / "dbt_project"),
        "DO_NOT_TRACK": "1",
    })
    env.pop("SEGMENTS_WAREHOUSE", None)
    env.pop("SEGMENTS_SERVING", None)
    env["SEGMENTS_WAREHOUSE"] = str(home / "warehouse" / "warehouse.duckdb")

    segments = str(BIN / "segments")
    stages = [
        run_stage("generate", [segments, "generate", "--size", args.size, "--seed", str(args.seed),
                               "--as-of", args.as_of, "--out", str(home)], env),
        run_stage("airflow_init", [segments, "airflow-init"], env),
        run_stage("dbt_parse", [str(BIN / "dbt"), "parse", "--quiet"], env, cwd=REPO / "dbt_project"),
        run_stage("dag_run", [segments, "run-dag", "--logical-date", args.as_of], env),
    ]
    tasks = task_durations(home / "airflow", "customer_segments")
    landing_bytes = sum(p.stat().st_size for p in (home / "landing").rglob("*") if p.is_file())
    warehouse = home / "warehouse" / "warehouse.duckdb"
    result = {
        "size": args.size,
        "seed": args.seed,
        "as_of": args.as_of,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "landing_mib": round(landing_bytes / 2**20, 1),
        "warehouse_mib": round(warehouse.stat().st_size / 2**20, 1) if warehouse.exists() else None,
        "stages": [asdict(s) for s in stages],
        "dag_tasks": tasks,
    }
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.size}.json").write_text(json.dumps(result, indent=2))

    print(f"\n### {args.size} ({result['measured_at']}, {result['machine']})\n")
    print(f"Landing files: {result['landing_mib']} MiB; warehouse: {result['warehouse_mib']} MiB\n")
    print("| stage | wall s | peak RSS MiB |\n|---|---:|---:|")
    for s in stages:
        print(f"| {s.name} | {s.seconds:.1f} | {s.peak_rss_mib:.0f} |")
    print("\n| DAG task | s |\n|---|---:|")
    for task_id, seconds in tasks:
        print(f"| {task_id} | {seconds:.1f} |")
    if not args.keep:
        shutil.rmtree(home / "landing", ignore_errors=True)


if __name__ == "__main__":
    main()
