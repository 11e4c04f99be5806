"""Benchmark the privacy steps on one tier: audience export, one erasure, suppression at load.

    .venv/bin/python bench/privacy.py --size small     # generates into a scratch home, builds once

Stages (each timed with a monotonic clock, peak memory as VmHWM of this process):
generate, load, dbt build (subprocess), publish, export_audiences (first run),
export_audiences (second run: deltas), erase one person (with and without
compacting the warehouse), load an extract that still contains them
(suppression). Results: bench/results/privacy_<size>.json and a markdown table on
stdout for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small", choices=["tiny", "small"])
    ap.add_argument("--home", default=None, help="scratch data home (default: a temp dir, deleted after)")
    args = ap.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix=f"privacy-bench-{args.size}-"))
    os.environ.update({"SEGMENTS_HOME": str(home), "SEGMENTS_WAREHOUSE": str(home / "warehouse" / "warehouse.duckdb"),
                       "SEGMENTS_SETTLE_SECONDS": "0"})
    for var in ("SEGMENTS_SERVING", "SEGMENTS_EXPORTS", "SEGMENTS_LANDING"):
        os.environ.pop(var, None)
    os.environ.setdefault("SEGMENTS_PII_SALT", "bench-only-salt-0123456789abcdef")

    from segmentation.audiences import export_audiences
    from segmentation.config import Settings
    from segmentation.erasure import erase, parse_requests
    from segmentation.generator import generate
    from segmentation.loading import load_new_files
    from segmentation.publishing import publish

    settings = Settings.from_env()
    timings: dict[str, float] = {}

    def timed(name, fn):
        start = time.monotonic()
        out = fn()
        timings[name] = round(time.monotonic() - start, 2)
        print(f"[privacy-bench] {name}: {timings[name]:.1f} s", flush=True)
        return out

    timed("generate", lambda: generate(size=args.size, seed=42, as_of=date(2026, 11, 25), out=home))
    timed("load", lambda: load_new_files(settings, batch_id="b1"))
    dbt = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(REPO / "dbt_project"),
           "--profiles-dir", str(REPO / "dbt_project"), "--target-path", str(home / "dbt" / "target"),
           "--log-path", str(home / "dbt" / "logs"), "--vars", '{as_of_date: "2026-11-25"}', "--quiet"]
    timed("dbt build", lambda: subprocess.run(dbt, check=True, cwd=REPO))
    timed("publish", lambda: publish(settings, run_id="bench-1"))
    first = timed("export_audiences (first)", lambda: export_audiences(settings, run_id="bench-1"))
    timed("export_audiences (second, deltas)", lambda: export_audiences(settings, run_id="bench-2"))

    import duckdb

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    emails = [e for (e,) in con.execute(
        "select email from restricted.customer_pii where email is not null order by customer_key limit 2").fetchall()]
    customers = con.execute("select count(*) from marts.customer_profile").fetchone()[0]
    con.close()
    timed("erase 1 person (no compaction)",
          lambda: erase(settings, parse_requests([{"email": emails[0], "request_id": "bench-a"}]), compact=False))
    timed("erase 1 person (with warehouse compaction)",
          lambda: erase(settings, parse_requests([{"email": emails[1], "request_id": "bench-b"}])))
    extra = settings.landing / "crm" / "crm_customers_2026-11-26_part0001.csv"
    extra.write_text(f"crm_id,email,updated_at\nCRM-X1,{emails[0]},2026-11-26T00:00:00Z\n")
    report = timed("load with suppression", lambda: load_new_files(settings, batch_id="b2"))
    assert report.suppressed == {"raw.crm_customers": 1}, report.suppressed

    result = {"size": args.size, "customers": customers,
              "audiences_rows": sum(a["rows"] for a in first.manifest["audiences"]),
              "warehouse_mib": round(settings.warehouse.stat().st_size / 2**20, 1),
              "seconds": timings, "peak_vm_hwm_mib": round(vm_hwm_mib(), 1)}
    out = REPO / "bench" / "results" / f"privacy_{args.size}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{customers:,} customers, {result['audiences_rows']:,} audience rows, "
          f"warehouse {result['warehouse_mib']} MiB, peak VmHWM {result['peak_vm_hwm_mib']} MiB\n")
    print("| step | s |\n|---|---:|")
    for k, v in timings.items():
        print(f"| {k} | {v} |")
    if not args.home:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
