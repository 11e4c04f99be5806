"""Time the DuckDB connected-components macro against an earlier version of it.

Renders `duckdb__connected_components` from the working tree and from a git
revision (default a314f73: the recursive CTE keyed on the node, USING KEY),
runs both on the identity graph of a built warehouse (int_identity_nodes,
int_identity_edges, read-only), checks they give the same labels, and prints
wall and CPU seconds of each, best of --repeat runs.

    .venv/bin/python bench/components_compare.py \
        --warehouse bench/out/large/warehouse/warehouse.duckdb --json bench/results/components_large.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import jinja2

REPO_ROOT = Path(__file__).resolve().parents[1]
MACRO = "dbt_project/macros/cross_db/connected_components.sql"


def render(source: str) -> str:
    module = jinja2.Environment().from_string(source).module
    return str(module.duckdb__connected_components("nodes", "node_key", "edges", "key_a", "key_b"))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def time_query(con: duckdb.DuckDBPyConnection, sql: str, table: str, repeat: int) -> dict:
    best: dict | None = None
    for _ in range(repeat):
        wall0, cpu0 = time.monotonic(), cpu_seconds()
        con.execute(f"create or replace temp table {table} as {sql}")
        run = {"wall_s": round(time.monotonic() - wall0, 2), "cpu_s": round(cpu_seconds() - cpu0, 2)}
        if best is None or run["wall_s"] < best["wall_s"]:
            best = run
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--baseline-rev", default="a314f73")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    current = render((REPO_ROOT / MACRO).read_text())
    baseline = render(subprocess.run(["git", "show", f"{args.baseline_rev}:{MACRO}"], cwd=REPO_ROOT,
                                     check=True, capture_output=True, text=True).stdout)
    con = duckdb.connect()
    con.execute(f"attach '{args.warehouse}' as w (read_only)")
    con.execute("create temp table nodes as select node_key from w.intermediate.int_identity_nodes")
    con.execute("create temp table edges as select key_a, key_b from w.intermediate.int_identity_edges")
    size = con.execute("select (select count(*) from nodes), (select count(*) from edges)").fetchone()
    out = {"warehouse": str(args.warehouse), "nodes": size[0], "edges": size[1],
           "baseline_rev": args.baseline_rev,
           "baseline": time_query(con, baseline, "labels_baseline", args.repeat),
           "current": time_query(con, current, "labels_current", args.repeat)}
    differ = con.execute("select count(*) from labels_baseline b join labels_current c using (node_key) "
                         "where b.component_key <> c.component_key").fetchone()[0]
    out["labels_that_differ"] = differ
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
