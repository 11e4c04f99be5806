"""Load throughput of segmentation.loading next to DuckDB's own bare read of the same files.

Two ways to get input:
    --landing DIR   an existing landing folder (<DIR>/<source>/files), e.g. after
                    `segments generate --size large` ($SEGMENTS_HOME/landing)
    --rows N        synthesize one order-lines CSV and one web-events JSONL of N rows
                    each with DuckDB COPY in a temporary folder (deleted afterwards)

Each measurement runs in its own child process, so its peak RSS (VmHWM from
/proc/self/status) is that run's alone, and writes a fresh DuckDB file in a
temporary folder (under --work-dir if given; deleted afterwards):
    bare    create table as select * from read_csv(all_varchar) / read_json(VARCHAR columns)
    loader  segmentation.loading.load_new_files (checksum, validation, rejects, ledger)

Usage:
    .venv/bin/python bench/load_throughput.py --rows 2000000
    .venv/bin/python bench/load_throughput.py --landing data/landing --json bench/results/load.json
    flock /work/large/.lock .venv/bin/python bench/load_throughput.py --landing /work/large/landing \
        --work-dir /work/scratch/loader --json bench/results/load_large.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCES_FOR_BENCH = ("crm", "events", "orders")


def synthesize(landing: Path, rows: int) -> None:
    import duckdb

    (landing / "orders").mkdir(parents=True, exist_ok=True)
    (landing / "events").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"""
        copy (select 'O-' || (i // 3) as order_id, (i % 3 + 1)::varchar as line_number,
                     strftime(timestamp '2026-11-01' + to_seconds(i % 2000000), '%Y-%m-%dT%H:%M:%S') || '+01:00' as order_ts,
                     'CRM-' || lpad((i % 50000)::varchar, 7, '0') as crm_id, 'user' || (i % 50000) || '@example.com' as email,
                     (['completed', 'completed', 'cancelled', 'refunded'])[i % 4 + 1] as status,
                     (['web', 'app', 'store'])[i % 3 + 1] as channel, (['EUR', 'USD', 'GBP'])[i % 3 + 1] as currency,
                     'P-' || (i % 997) as product_id, (i % 5 + 1)::varchar as quantity,
                     ((i % 10000) / 100.0)::decimal(10, 2)::varchar as unit_price, '0' as discount_amount
              from range({rows}) t(i))
        to '{landing / 'orders' / 'order_lines_2026-11-20_part0001.csv'}' (header, delimiter ',')""")
    con.execute(f"""
        copy (select 'E-' || i as event_id,
                     strftime(timestamp '2026-11-01' + to_seconds(i % 2000000), '%Y-%m-%dT%H:%M:%S') || 'Z' as event_ts,
                     (['page_view', 'product_view', 'add_to_cart', 'login'])[i % 4 + 1] as event_type,
                     'A-' || (i % 90000) as anonymous_id, 'CRM-' || lpad((i % 50000)::varchar, 7, '0') as user_id,
                     'S-' || (i // 7) as session_id, '/p/' || (i % 997) as page_url,
                     (['desktop', 'mobile', 'tablet'])[i % 3 + 1] as device_type, 'true' as tracking_consent
              from range({rows}) t(i))
        to '{landing / 'events' / 'web_events_2026-11-20_part0001.jsonl'}' (format json)""")
    con.close()


def _files(landing: Path) -> list[tuple[str, Path]]:
    out = []
    for source in SOURCES_FOR_BENCH:
        folder = landing / source
        if folder.is_dir():
            out += [(source, p) for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    return out


def child_bare(landing: Path, db: Path, memory_limit: str | None) -> dict:
    import duckdb

    from segmentation.contracts import SOURCES

    con = duckdb.connect(str(db))
    con.execute("set enable_progress_bar = false")
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    rows = 0
    start = time.perf_counter()
    for i, (source, path) in enumerate(_files(landing)):
        name = path.name.lower()
        if ".csv" in name or ".tsv" in name:
            src = f"read_csv('{path}', all_varchar = true, header = true)"
        elif ".json" in name:
            cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in SOURCES[source].column_names) + "}"
            src = f"read_json('{path}', format = 'newline_delimited', columns = {cols})"
        elif name.endswith(".parquet"):
            src = f"read_parquet('{path}')"
        else:
            continue
        con.execute(f"create table t{i} as select * from {src}")
        rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
    con.close()
    return {"rows": rows, "seconds": time.perf_counter() - start}


def child_loader(landing: Path, home: Path, memory_limit: str | None) -> dict:
    from segmentation.config import Settings
    from segmentation.loading import load_new_files, load_workers

    if memory_limit:
        os.environ["SEGMENTS_DUCKDB_MEMORY_LIMIT"] = memory_limit
    settings = Settings(home=home, landing=landing, quarantine=home / "quarantine",
                        warehouse=home / "warehouse.duckdb", serving=home / "serving.duckdb",
                        reports=home / "reports", dbt_project=home, expectations=home)
    start = time.perf_counter()
    report = load_new_files(settings, batch_id="bench", settle_seconds=0)
    seconds = time.perf_counter() - start
    return {"rows": report.rows_loaded + report.rows_rejected, "rows_rejected": report.rows_rejected,
            "workers": load_workers(),
            "quarantined": len(report.quarantined), "seconds": seconds}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). ru_maxrss would include the parent's peak
    carried over fork+exec; VmHWM is reset by exec, so it is this run's alone."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, landing: Path, work: Path, memory_limit: str | None) -> dict:
    out = work / f"{mode}.json"
    cmd = [sys.executable, __file__, "--child", mode, "--landing", str(landing), "--work", str(work), "--out", str(out)]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    subprocess.run(cmd, check=True)
    result = json.loads(out.read_text())
    result["rows_per_s"] = result["rows"] / result["seconds"] if result["seconds"] else 0.0
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--landing", type=Path, help="existing landing folder (<dir>/<source>/<files>)")
    p.add_argument("--rows", type=int, help="synthesize N rows per source instead")
    p.add_argument("--memory-limit", help="DuckDB memory_limit for both runs, e.g. 1GB")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--work-dir", type=Path, help="parent folder of the temporary warehouses (default: system temp)")
    p.add_argument("--only", choices=["bare", "loader"], help="run one side only (profiling; no ratio)")
    p.add_argument("--child", choices=["bare", "loader"], help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        if args.child == "bare":
            res = child_bare(args.landing, args.work / "bare.duckdb", args.memory_limit)
        else:
            res = child_loader(args.landing, args.work / "loader", args.memory_limit)
        res["peak_rss_mb"] = peak_rss_mb()
        ru = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this child: robust to other load
        res["cpu_seconds"] = ru.ru_utime + ru.ru_stime
        args.out.write_text(json.dumps(res))
        return 0

    if not args.landing and not args.rows:
        p.error("give --landing DIR or --rows N")
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="load_bench_", dir=args.work_dir))
    try:
        landing = args.landing.resolve() if args.landing else work / "landing"
        if args.rows:
            synthesize(landing, args.rows)
        size_mb = sum(f.stat().st_size for _, f in _files(landing)) / 1e6
        results = {}
        for mode in (args.only,) if args.only else ("bare", "loader"):
            mode_work = work / mode
            mode_work.mkdir()
            results[mode] = run_child(mode, landing, mode_work, args.memory_limit)
        if args.only:
            r = results[args.only]
            print(f"{args.only}: {r['rows']:,} rows in {r['seconds']:.2f} s ({r['cpu_seconds']:.1f} CPU s) = "
                  f"{r['rows_per_s']:,.0f} rows/s, peak RSS {r['peak_rss_mb']:.0f} MB")
            return 0
        ratio = results["loader"]["rows_per_s"] / results["bare"]["rows_per_s"]
        cpu_ratio = results["bare"]["cpu_seconds"] / results["loader"]["cpu_seconds"]
        summary = {"input_mb": round(size_mb, 1), "files": len(_files(landing)), "cpus": os.cpu_count(),
                   "memory_limit": args.memory_limit, **{k: {kk: round(vv, 2) if isinstance(vv, float) else vv
                                                          for kk, vv in v.items()} for k, v in results.items()},
                   "loader_vs_bare": round(ratio, 3), "loader_vs_bare_cpu": round(cpu_ratio, 3),
                   "load_average_after": round(os.getloadavg()[0], 2)}
        print(f"input: {summary['files']} file(s), {size_mb:.1f} MB, {os.cpu_count()} CPUs")
        print(f"{'run':8} {'rows':>12} {'seconds':>9} {'cpu s':>9} {'rows/s':>12} {'peak RSS MB':>12}")
        for mode, r in results.items():
            print(f"{mode:8} {r['rows']:>12,} {r['seconds']:>9.2f} {r['cpu_seconds']:>9.1f} {r['rows_per_s']:>12,.0f} "
                  f"{r['peak_rss_mb']:>12.0f}")
        print(f"loader throughput = {ratio:.2f} x bare DuckDB read (target >= 0.5); by CPU time {cpu_ratio:.2f} x")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
