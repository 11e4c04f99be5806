"""Benchmark one tier end to end, against the DuckDB floor and a plain pandas implementation.

    .venv/bin/python bench/run.py --size small      # or: make bench-small
    .venv/bin/python bench/run.py --size large      # or: make bench-large
    .venv/bin/python bench/run.py --size large --landing /work/large/landing   # reuse generated extracts

Stages, each its own child process (wall time from a monotonic clock, peak
memory = the largest VmHWM of any process in the child's tree, sampled from
/proc every 0.2 s; ru_maxrss of the child is kept too):

1. generate (or link the files of --landing into <home>/landing)
2. floor: DuckDB alone reading every raw file once (bench/load_throughput.py's bare read)
3. pandas: the same RFM and rule segments in plain pandas (bench/pandas_baseline.py)
4. airflow init, dbt parse
5. full run: the customer_segments DAG on an empty warehouse (load, gates, dbt builds
   every model from scratch, publish)
6. a new day: ~1% new extracts (segmentation.delta: new events and orders, some late,
   some re-delivered, CRM updates), then the DAG again for the next day: incremental
   models process only what was loaded since

Per DAG task: seconds (Airflow's metadata DB) and the peak resident set of the
DAG process while the task ran (from the samples). The pandas result is joined
to the pipeline's marts.customer_segments on customer_key (both build it the
same way) for an agreement count. Results: bench/results/<size>.json, and the
section of bench/RESULTS.md between `<!-- bench:<size> -->` markers is replaced
with the tables (the rest of the file is kept).
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
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIB = 2**30
GOALS = {"full_run_s": 300, "floor_multiple": 5, "incremental_share": 0.10, "peak_gib": 8, "pandas_speedup": 10}


@dataclass
class Stage:
    name: str
    seconds: float
    peak_mib: float
    exit_code: int
    started_utc: str = ""
    samples: list[tuple[float, float]] = field(default_factory=list, repr=False)  # (unix time, max RSS MiB)


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


def run_stage(name: str, cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> Stage:
    print(f"[bench] {name}: {' '.join(cmd)}", flush=True)
    started = datetime.now(timezone.utc)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd)
    hwm_kib = 0
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        nonlocal hwm_kib
        while not done.is_set():
            rss = 0
            for p in _tree(proc.pid):
                st = _status(p)
                hwm_kib = max(hwm_kib, st.get("VmHWM", 0))
                rss = max(rss, st.get("VmRSS", 0))
            samples.append((time.time(), rss / 1024))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, rusage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    seconds = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    # ru_maxrss of the reaped child covers the last moments the sampler may miss
    peak = max(hwm_kib, rusage.ru_maxrss) / 1024
    stage = Stage(name, round(seconds, 2), round(peak, 1), code, started.isoformat(timespec="seconds"), samples)
    print(f"[bench] {name}: {stage.seconds:.1f} s, peak {stage.peak_mib:.0f} MiB, exit {code}", flush=True)
    if code != 0:
        raise SystemExit(f"stage {name} failed with exit code {code}")
    return stage


def task_durations(airflow_home: Path, dag_id: str, run_stage_: Stage) -> list[dict]:
    """Per task of the latest run: seconds and the peak RSS of the DAG process meanwhile."""
    con = sqlite3.connect(airflow_home / "airflow.db")
    try:
        run_id = con.execute(
            "select run_id from dag_run where dag_id = ? order by start_date desc limit 1", [dag_id]
        ).fetchone()[0]
        rows = con.execute(
            "select task_id, start_date, end_date from task_instance where dag_id = ? and run_id = ? "
            "order by start_date", [dag_id, run_id]).fetchall()
    finally:
        con.close()
    out = []
    for task_id, start, end in rows:
        if not start or not end:
            out.append({"task": task_id, "seconds": 0.0, "peak_mib": None})
            continue
        t0 = datetime.fromisoformat(start).replace(tzinfo=timezone.utc).timestamp()
        t1 = datetime.fromisoformat(end).replace(tzinfo=timezone.utc).timestamp()
        rss = [m for t, m in run_stage_.samples if t0 - 0.2 <= t <= t1 + 0.2]
        out.append({"task": task_id, "seconds": round(t1 - t0, 2), "peak_mib": round(max(rss), 1) if rss else None})
    return out


def _group(tasks: list[dict]) -> dict[str, float]:
    groups: dict[str, float] = {}
    for t in tasks:
        key = "dbt_build" if t["task"].startswith("dbt_build.") else t["task"]
        groups[key] = round(groups.get(key, 0.0) + t["seconds"], 2)
    return groups


def agreement(warehouse: Path, pandas_parquet: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(f"""
            with p as (select * from read_parquet('{pandas_parquet}')),
                 w as (select customer_key, segment from marts.customer_segments)
            select count(*) filter (where w.customer_key is not null),
                   count(*) filter (where p.customer_key is not null),
                   count(*) filter (where w.customer_key is not null and p.customer_key is not null),
                   count(*) filter (where w.segment = p.segment)
            from w full outer join p on w.customer_key = p.customer_key""").fetchone()
    finally:
        con.close()
    pipeline, pandas_n, both, same = row
    return {"pipeline_customers": pipeline, "pandas_customers": pandas_n, "in_both": both,
            "same_segment": same, "same_segment_share_of_pipeline": round(same / pipeline, 4) if pipeline else None}


def baseline_stages(args: argparse.Namespace, home: Path, env: dict[str, str], py: str,
                    as_of: str) -> list[Stage]:
    """The DuckDB floor (bare read of every delivered file) and the pandas implementation, unless skipped."""
    stages = []
    if "floor" not in args.skip:
        (home / "floor").mkdir()
        stages.append(run_stage("floor", [py, str(REPO / "bench" / "load_throughput.py"), "--child", "bare",
                                          "--landing", str(home / "landing"), "--work", str(home / "floor"),
                                          "--out", str(home / "floor.json")], env))
        shutil.rmtree(home / "floor", ignore_errors=True)
    if "pandas" not in args.skip:
        stages.append(run_stage("pandas", [py, str(REPO / "bench" / "pandas_baseline.py"), "--landing",
                                           str(home / "landing"), "--as-of", as_of,
                                           "--out", str(home / "pandas_segments.parquet"),
                                           "--json", str(home / "pandas.json")], env))
    return stages


def reused_baselines(folder: Path, home: Path) -> list[Stage]:
    """floor and pandas stages from an earlier --baselines-only run (same scripts, same landing files)."""
    floor = json.loads((folder / "floor.json").read_text())
    pandas = json.loads((folder / "pandas.json").read_text())
    shutil.copy(folder / "pandas_segments.parquet", home / "pandas_segments.parquet")
    shutil.copy(folder / "pandas.json", home / "pandas.json")
    when = datetime.fromtimestamp((folder / "floor.json").stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    return [Stage("floor", round(floor["seconds"], 2), round(floor["peak_rss_mb"], 1), 0, when),
            Stage("pandas", pandas["seconds"], pandas["peak_mib"], 0, when)]


def link_landing(src: Path, dst: Path) -> None:
    """The delivered files of `src` as symlinks under `dst` (read-only data is never written)."""
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        (dst / folder.name).mkdir(parents=True, exist_ok=True)
        for f in sorted(folder.iterdir()):
            if f.is_file() and not f.name.startswith("."):
                (dst / folder.name / f.name).symlink_to(f.resolve())


def goals(result: dict) -> list[dict]:
    s = {st["name"]: st for st in result["stages"]}
    out = []
    full = s.get("dag_full")
    if full:
        out.append({"goal": f"full pipeline <= {GOALS['full_run_s']} s", "measured": f"{full['seconds']:.0f} s",
                    "met": full["seconds"] <= GOALS["full_run_s"]})
        # The floor only from this run (or --baselines, the same files on the same machine): a
        # figure from another run or machine says nothing about this one (session 10's machine
        # read the files 2.6x faster than the one bench/results/load_large.json was measured on).
        if "floor" in s:
            floor_s = s["floor"]["seconds"]
            mult = full["seconds"] / floor_s
            out.append({"goal": f"full pipeline <= {GOALS['floor_multiple']}x DuckDB floor",
                        "measured": f"{mult:.1f}x ({floor_s:.0f} s floor)",
                        "met": mult <= GOALS["floor_multiple"]})
        else:
            out.append({"goal": f"full pipeline <= {GOALS['floor_multiple']}x DuckDB floor",
                        "measured": "floor not measured in this run (--skip floor)", "met": None})
        if "dag_incremental" in s:
            share = s["dag_incremental"]["seconds"] / full["seconds"]
            out.append({"goal": f"incremental day < {GOALS['incremental_share']:.0%} of full",
                        "measured": f"{share:.1%} ({s['dag_incremental']['seconds']:.0f} s)",
                        "met": share < GOALS["incremental_share"]})
        peak = max(s[n]["peak_mib"] for n in ("dag_full", "dag_incremental") if n in s) / 1024
        out.append({"goal": f"peak memory < {GOALS['peak_gib']} GiB", "measured": f"{peak:.1f} GiB",
                    "met": peak < GOALS["peak_gib"]})
        if "pandas" in s:
            speedup = s["pandas"]["seconds"] / full["seconds"]
            out.append({"goal": f">= {GOALS['pandas_speedup']}x faster than pandas",
                        "measured": f"{speedup:.2f}x ({s['pandas']['seconds']:.0f} s pandas)",
                        "met": speedup >= GOALS["pandas_speedup"]})
    return out


def markdown(result: dict) -> str:
    lines = [f"### `{result['size']}` ({result['measured_at']}, {result['machine']})", "",
             f"Command: `{result['command']}`. Landing: {result['landing_mib']:,.0f} MiB; "
             f"warehouse after the runs: {result['warehouse_mib'] or 0:,.0f} MiB; "
             f"new day: {result.get('new_day_rows', {})} rows."
             + (f" floor and pandas measured in a separate run ({', '.join(f'{k} at {v}' for k, v in result['measured_separately'].items())}), same files."
                if result.get("measured_separately") else ""), "",
             "| stage | wall s | peak MiB (VmHWM) |", "|---|---:|---:|"]
    lines += [f"| {s['name']} | {s['seconds']:.1f} | {s['peak_mib']:,.0f} |" for s in result["stages"]]
    for run in ("dag_full", "dag_incremental"):
        tasks = result.get("tasks", {}).get(run)
        if not tasks:
            continue
        lines += ["", f"{run} by task group (s): " + ", ".join(f"{k} {v:.1f}" for k, v in _group(tasks).items()), "",
                  f"| {run}: slowest tasks | s | peak RSS MiB while running |", "|---|---:|---:|"]
        for t in sorted(tasks, key=lambda t: -t["seconds"])[:10]:
            peak = f"{t['peak_mib']:,.0f}" if t["peak_mib"] is not None else "n/a"
            lines.append(f"| {t['task']} | {t['seconds']:.1f} | {peak} |")
    if result.get("agreement"):
        a = result["agreement"]
        lines += ["", f"pandas vs pipeline: {a['pipeline_customers']:,} pipeline customers, "
                      f"{a['pandas_customers']:,} pandas customers, {a['in_both']:,} with the same customer_key, "
                      f"{a['same_segment']:,} in the same segment "
                      f"({(a['same_segment_share_of_pipeline'] or 0):.1%} of the pipeline's)."]
    if result.get("goals"):
        lines += ["", "| goal | measured | met |", "|---|---|---|"]
        lines += [f"| {g['goal']} | {g['measured']} | {'-' if g['met'] is None else 'yes' if g['met'] else '**no**'} |"
                  for g in result["goals"]]
    return "\n".join(lines)


def write_results_md(size: str, text: str) -> None:
    path = REPO / "bench" / "RESULTS.md"
    doc = path.read_text() if path.exists() else "# Benchmark results\n"
    start, end = f"<!-- bench:{size} -->", f"<!-- /bench:{size} -->"
    block = f"{start}\n{text}\n{end}"
    if start in doc and end in doc:
        doc = doc.split(start)[0] + block + doc.split(end, 1)[1]
    else:
        if "## Harness runs (bench/run.py)" not in doc:
            doc = doc.rstrip() + "\n\n## Harness runs (bench/run.py)\n\nWritten by `make bench-<tier>`; " \
                                 "see bench/run.py for what each stage is.\n"
        doc = doc.rstrip() + "\n\n" + block + "\n"
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["tiny", "small", "large"], default="small")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--as-of", default="2026-11-25")
    ap.add_argument("--home", help="data root (default bench/out/<size>)")
    ap.add_argument("--landing", type=Path, help="use these delivered extracts (linked, never written) instead of generating")
    ap.add_argument("--skip", action="append", default=[], choices=["floor", "pandas", "incremental"],
                    help="leave a comparison out (repeatable)")
    ap.add_argument("--baselines-only", action="store_true",
                    help="run only the floor and pandas stages; keep their files in --home for --baselines")
    ap.add_argument("--baselines", type=Path,
                    help="reuse floor.json, pandas.json and pandas_segments.parquet from this folder (an earlier "
                         "--baselines-only run) instead of running those stages; marked as such in the results")
    ap.add_argument("--keep", action="store_true", help="keep data and warehouse afterwards")
    ap.add_argument("--no-results-md", action="store_true", help="do not touch bench/RESULTS.md")
    args = ap.parse_args()

    home = Path(args.home or REPO / "bench" / "out" / args.size).resolve()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = dict(os.environ)
    env.update({
        "SEGMENTS_HOME": str(home),
        "SEGMENTS_LANDING": str(home / "landing"),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DBT_PROFILES_DIR": str(REPO / "dbt_project"),
        "DO_NOT_TRACK": "1",
        "SEGMENTS_SETTLE_SECONDS": "0",
    })
    env.pop("SEGMENTS_SERVING", None)
    env["SEGMENTS_WAREHOUSE"] = str(home / "warehouse" / "warehouse.duckdb")
    # publishing refuses without a PII salt (docs/privacy.md): a random one for this run, as `make run` does
    env.pop("SEGMENTS_PII_SALT", None)
    env["SEGMENTS_PII_SALT_FILE"] = str(home / "secrets" / "pii_salt")
    py, segments = str(BIN / "python"), str(BIN / "segments")
    as_of = date.fromisoformat(args.as_of)
    next_day = as_of + timedelta(days=1)

    stages: list[Stage] = []
    if args.landing:
        link_landing(args.landing.resolve(), home / "landing")
    else:
        stages.append(run_stage("generate", [segments, "generate", "--size", args.size, "--seed", str(args.seed),
                                             "--as-of", args.as_of, "--out", str(home)], env))
    landing_bytes = sum(p.stat().st_size for p in (home / "landing").rglob("*") if p.is_file())
    separately = {}
    if args.baselines:
        stages += reused_baselines(args.baselines.resolve(), home)
        args.skip += ["floor", "pandas"]
        separately = {s.name: s.started_utc for s in stages[-2:]}
    if args.baselines_only:
        stages += baseline_stages(args, home, env, py, args.as_of)
        print(f"[bench] baselines kept in {home} (floor.json, pandas.json, pandas_segments.parquet)")
        return
    stages.append(run_stage("airflow_init", [segments, "airflow-init"], env))
    subprocess.run([segments, "init-salt"], env=env, check=True)
    stages.append(run_stage("dbt_parse", [str(BIN / "dbt"), "parse", "--quiet"], env, cwd=REPO / "dbt_project"))
    full = run_stage("dag_full", [segments, "run-dag", "--logical-date", args.as_of], env)
    stages.append(full)
    tasks = {"dag_full": task_durations(home / "airflow", "customer_segments", full)}
    warehouse = home / "warehouse" / "warehouse.duckdb"
    command = f".venv/bin/python bench/run.py --size {args.size}" + (f" --landing {args.landing}" if args.landing else "")
    result: dict = {"size": args.size, "seed": args.seed, "as_of": args.as_of, "command": command,
                    "measured_separately": separately, "tasks": tasks}

    def save(final: bool = False) -> None:
        """Results so far (written after every step, so a stopped run still leaves its figures)."""
        result.update({
            "complete": final,
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GIB:.0f} GiB, "
                       f"Python {platform.python_version()}",
            "landing_mib": round(landing_bytes / 2**20, 1),
            "warehouse_mib": round(warehouse.stat().st_size / 2**20, 1) if warehouse.exists() else None,
            "stages": [{k: v for k, v in asdict(s).items() if k != "samples"} for s in stages],
        })
        result["goals"] = goals(result)
        out = REPO / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / f"{args.size}.json").write_text(json.dumps(result, indent=2))
        text = markdown(result)
        if final:
            print("\n" + text)
        if not args.no_results_md:
            write_results_md(args.size, text)

    save()
    as_of_compared = args.as_of
    if "incremental" not in args.skip:
        from segmentation.delta import write_new_day

        new_dir = home / "new_day"
        day = write_new_day(home / "landing", next_day, out=new_dir)
        for source, path in day.files.items():  # deliver: move into landing under the final name
            shutil.move(str(path), home / "landing" / source / path.name)
        result["new_day_rows"] = day.rows
        inc = run_stage("dag_incremental", [segments, "run-dag", "--logical-date", next_day.isoformat()], env)
        stages.append(inc)
        tasks["dag_incremental"] = task_durations(home / "airflow", "customer_segments", inc)
        as_of_compared = next_day.isoformat()
        save()
    # the comparisons read the same delivered files the warehouse now holds, as of the same date
    stages += baseline_stages(args, home, env, py, as_of_compared)
    pandas_out = home / "pandas_segments.parquet"
    if "pandas" not in args.skip or args.baselines:
        result["agreement"] = agreement(warehouse, pandas_out)
        result["pandas"] = json.loads((home / "pandas.json").read_text())
        result["agreement"]["as_of"] = as_of_compared
    save(final=True)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    else:
        print(f"[bench] kept {home}")


if __name__ == "__main__":
    main()
