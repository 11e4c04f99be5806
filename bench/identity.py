"""Identity resolution benchmark: pairwise precision / recall / F1 against the
generator's ground truth, and (with --build) wall time and peak memory of the
identity models.

Accuracy. ground_truth/records.csv maps every CRM record, order and
anonymous id of a person to its person_id. Each such record is looked up in
the warehouse (intermediate.int_identity_nodes_resolved: crm:<id>,
order:<id>, anon:<id>); a record that resolved to no customer is a customer
of its own. Two records are a true pair when they belong to one person and
a predicted pair when they were put in one customer. Pairs are counted in
DuckDB from the contingency table (person x customer -> n records) with
n*(n-1)/2, never materialised:
    TP        = sum over cells      n(n-1)/2
    predicted = sum over customers  n(n-1)/2
    true      = sum over persons    n(n-1)/2
precision = TP / predicted, recall = TP / true.

Usage:
    # accuracy of an existing warehouse
    .venv/bin/python bench/identity.py --warehouse W --ground-truth DIR/ground_truth --json OUT
    # build the identity models first (timed; peak memory of the dbt process)
    .venv/bin/python bench/identity.py --warehouse W --ground-truth DIR/ground_truth --build --json OUT
At large, hold the lock: flock /work/large/.lock .venv/bin/python bench/identity.py ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO_ROOT / "dbt_project"
IDENTITY_MODELS = [
    "int_identity_fuzzy_matches", "int_identity_links", "int_identity_nodes", "int_identity_edges",
    "int_identity_components", "int_customers_resolved", "int_identity_nodes_resolved",
    "int_identity_supernodes", "int_customer_keys", "int_customer_key_changes",
]
SOURCE_PREFIX = {"crm": "crm:", "orders": "order:", "events": "anon:"}


def pairwise_accuracy(con: duckdb.DuckDBPyConnection, records_csv: Path) -> dict:
    """Pairwise precision/recall/F1 of the warehouse's customers against records.csv."""
    con.execute(
        "create or replace temp table truth as select source, record_key, person_id "
        "from read_csv(?, header = true, all_varchar = true)", [str(records_csv)])
    unknown = con.execute(
        "select distinct source from truth where source not in ('crm', 'orders', 'events')").fetchall()
    if unknown:
        raise ValueError(f"{records_csv}: unknown source(s) {[u[0] for u in unknown]} (expected crm, orders, events)")
    case = " ".join(f"when '{s}' then '{p}'" for s, p in SOURCE_PREFIX.items())
    con.execute(f"""
        create or replace temp table assigned as
        select truth.source, truth.record_key, truth.person_id,
               coalesce(nodes.customer_key, 'unresolved:' || truth.source || ':' || truth.record_key) as cluster,
               nodes.customer_key is null as unresolved
        from truth
        left join intermediate.int_identity_nodes_resolved as nodes
            on nodes.node_id = (case truth.source {case} end) || truth.record_key
    """)
    row = con.execute("""
        with cells as (select person_id, cluster, count(*) as n from assigned group by all),
             persons as (select person_id, count(*) as n from assigned group by all),
             clusters as (select cluster, count(*) as n from assigned group by all)
        select
            (select sum(n * (n - 1) / 2) from cells),
            (select sum(n * (n - 1) / 2) from clusters),
            (select sum(n * (n - 1) / 2) from persons),
            (select count(*) from assigned),
            (select count(*) from assigned where unresolved),
            (select count(*) from persons),
            (select count(*) from clusters)
    """).fetchone()
    tp, predicted, true, records, unresolved, persons, clusters = (int(v or 0) for v in row)
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_source = con.execute("""
        select source, count(*) as records, count(*) filter (where unresolved) as unresolved
        from assigned group by source order by source
    """).fetchall()
    # persons split over more than one customer / customers holding more than one person
    split = con.execute("select count(*) from (select person_id from assigned group by person_id "
                        "having count(distinct cluster) > 1)").fetchone()[0]
    merged = con.execute("select count(*) from (select cluster from assigned group by cluster "
                         "having count(distinct person_id) > 1)").fetchone()[0]
    return {
        "precision": round(precision, 6), "recall": round(recall, 6), "f1": round(f1, 6),
        "true_positive_pairs": tp, "predicted_pairs": predicted, "true_pairs": true,
        "records": records, "unresolved_records": unresolved, "persons": persons, "customers_touched": clusters,
        "persons_split": int(split), "customers_merging_persons": int(merged),
        "by_source": [{"source": s, "records": r, "unresolved": u} for s, r, u in by_source],
    }


def fuzzy_stats(con: duckdb.DuckDBPyConnection) -> dict:
    row = con.execute("select count(*), count(*) filter (where is_match) "
                      "from intermediate.int_identity_fuzzy_matches").fetchone()
    supernodes = con.execute("select count(*) from intermediate.int_identity_supernodes").fetchone()[0]
    return {"fuzzy_pairs_compared": int(row[0]), "fuzzy_matches": int(row[1]), "supernodes": int(supernodes)}


def build_identity(warehouse: Path, as_of: str, threads: int | None, skip_tests: bool = False) -> dict:
    """dbt build the identity models and their parents; wall time, peak RSS, per-model times."""
    work = Path(tempfile.mkdtemp(prefix="bench_identity_"))
    select = " ".join(f"+{m}" for m in IDENTITY_MODELS)
    args = [str(Path(sys.executable).parent / "dbt"), "build", "--select", select, "--indirect-selection", "cautious",
            "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", f'{{as_of_date: "{as_of}"}}']
    if threads:
        args += ["--threads", str(threads)]
    if skip_tests:
        args += ["--exclude", "resource_type:test", "resource_type:unit_test"]
    env = {**os.environ, "SEGMENTS_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    timed = ["/usr/bin/time", "-v", *args] if Path("/usr/bin/time").exists() else args
    start = time.monotonic()
    proc = subprocess.run(timed, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    peak_kb = None
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak_kb = int(line.split(":")[1])
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-3000:])
        raise SystemExit(f"dbt build failed (exit {proc.returncode})")
    results = json.loads((work / "target" / "run_results.json").read_text())
    per_model = {}
    for r in results["results"]:
        uid = r["unique_id"]
        if uid.startswith("model."):
            per_model[uid.split(".")[-1]] = round(r["execution_time"], 2)
    identity_s = sum(v for k, v in per_model.items() if k in IDENTITY_MODELS)
    return {"dbt_build_wall_s": round(wall, 1), "dbt_peak_rss_mb": round(peak_kb / 1024) if peak_kb else None,
            "identity_models_s": round(identity_s, 1), "model_s": per_model,
            "memory_limit": os.environ.get("SEGMENTS_DBT_MEMORY_LIMIT", "6GB (profile default)")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--ground-truth", type=Path, required=True, help="the sample's ground_truth/ folder")
    parser.add_argument("--build", action="store_true", help="dbt build the identity models first (timed)")
    parser.add_argument("--as-of", default="2026-11-25")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--skip-tests", action="store_true", help="build models and seeds only (no data/unit tests)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                 "warehouse": str(args.warehouse), "ground_truth": str(args.ground_truth)}
    manifest = args.ground_truth / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        out["sample"] = {k: m.get(k) for k in ("size", "seed", "as_of", "persons")}
    if args.build:
        out["build"] = build_identity(args.warehouse, args.as_of, args.threads, args.skip_tests)
        out["build"]["tests_run"] = not args.skip_tests
    con = duckdb.connect(str(args.warehouse), read_only=True)
    try:
        start = time.monotonic()
        out["accuracy"] = pairwise_accuracy(con, args.ground_truth / "records.csv")
        out["accuracy"]["seconds"] = round(time.monotonic() - start, 1)
        out.update(fuzzy_stats(con))
    finally:
        con.close()
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
