"""How small can the incremental day get? Its work split by what it must redo, from a harness result.

A day moves the as-of date, so every model that reads `as_of_date()` (recency, decayed engagement,
segments, segment history) recomputes every customer whatever arrived, and so does every model
downstream of one. The run's own tasks after dbt (gate, publish, export, validation, report) also
handle every customer. Only the rest (staging, identity, consent, sessions, PII) can in principle
shrink with the size of the new data. This script splits the measured day of a `bench/run.py`
result into those groups and prints what the day would cost if the shrinkable part cost nothing:

    .venv/bin/python bench/day_floor.py                      # bench/results/large.json
    .venv/bin/python bench/day_floor.py --result bench/results/small.json --json out.json

It reads the task seconds the harness recorded and dbt's manifest (`dbt parse` writes
dbt_project/target/manifest.json); it runs nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AS_OF_MACRO = "macro.segments.as_of_date"
# Macros that read the as-of date only as a validity bound, not as a feature: a birth date after
# it is rejected. Such a record changes when the date moves past its birth date, nobody else does.
BOUNDS_ONLY = {"macro.segments.parse_birth_date"}

# The groups a day's tasks fall into; only SHRINKABLE can get smaller with less new data.
AS_OF = "dbt, as-of (every customer, every day)"
SHRINKABLE = "dbt, could shrink with the new data"
AFTER_DBT = "after dbt (every customer)"
PER_BATCH = "per batch, outside dbt"
OTHER = "other"

# Airflow tasks outside dbt, by what their work grows with on a day (dags/customer_segments.py).
NON_DBT = {
    "load_raw_extracts": "batch",      # only files not loaded before
    "quality_gate_raw": "batch",       # only the new raw batch
    "enforce_raw_retention": "batch",  # deletes expired raw rows
    "validate_segment_rules": "run",   # reads the rule files
    "quality_gate_marts": "customers",
    "publish": "customers",
    "summary": "customers",
    "export_audiences": "customers",
    "validate_segments": "customers",
    "check_segment_alerts": "customers",
    "segment_report": "customers",
}


def as_of_nodes(manifest: dict) -> set[str]:
    """dbt nodes that call as_of_date() (directly or through other macros), and everything downstream."""
    macros = manifest["macros"]
    reaches: dict[str, bool] = {}

    def macro_reaches(uid: str, seen: frozenset = frozenset()) -> bool:
        if uid == AS_OF_MACRO:
            return True
        if uid in reaches:
            return reaches[uid]
        if uid in seen or uid not in macros or uid in BOUNDS_ONLY:
            return False
        found = any(macro_reaches(m, seen | {uid}) for m in macros[uid]["depends_on"]["macros"])
        reaches[uid] = found
        return found

    direct = {uid for uid, node in manifest["nodes"].items()
              if node["resource_type"] in ("model", "seed")
              and any(macro_reaches(m) for m in node["depends_on"].get("macros", []))}
    out, todo = set(direct), list(direct)
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child.startswith(("model.", "seed.")) and child not in out:
                out.add(child)
                todo.append(child)
    return out


def dbt_node(task_id: str, project: str) -> str | None:
    """dbt_build.<name>_model_build -> model.<project>.<name> (cosmos' task ids, TestBehavior.BUILD)."""
    if not task_id.startswith("dbt_build."):
        return None
    name = task_id.removeprefix("dbt_build.")
    for suffix, kind in (("_model_build", "model"), ("_seed_build", "seed")):
        if name.endswith(suffix):
            return f"{kind}.{project}.{name.removesuffix(suffix)}"
    return None


def split_day(result: dict, manifest: dict) -> dict:
    project = manifest["metadata"].get("project_name", "segments")
    every_day = as_of_nodes(manifest)
    groups: dict[str, list[tuple[str, float]]] = {AS_OF: [], SHRINKABLE: [], AFTER_DBT: [], PER_BATCH: [], OTHER: []}
    for task in result["tasks"]["dag_incremental"]:
        node = dbt_node(task["task"], project)
        if node is not None:
            key = AS_OF if node in every_day else SHRINKABLE
        else:
            key = {"customers": AFTER_DBT, "batch": PER_BATCH}.get(NON_DBT.get(task["task"]), OTHER)
        groups[key].append((task["task"], task["seconds"]))
    full = next(s["seconds"] for s in result["stages"] if s["name"] == "dag_full")
    day = next(s["seconds"] for s in result["stages"] if s["name"] == "dag_incremental")
    dbt_tasks = [s for _, s in groups[AS_OF] + groups[SHRINKABLE]]
    rows = {name: {"tasks": len(tasks), "seconds": round(sum(s for _, s in tasks), 1),
                   "names": [t for t, _ in sorted(tasks, key=lambda x: -x[1])]}
            for name, tasks in groups.items()}
    floor = sum(r["seconds"] for name, r in rows.items() if name != SHRINKABLE)
    shrinkable = rows[SHRINKABLE]["tasks"]
    smallest = min(dbt_tasks) if dbt_tasks else 0.0
    return {"full_run_s": full, "day_s": day, "groups": rows,
            "day_if_shrinkable_cost_only_their_fixed_cost_s": round(floor + shrinkable * smallest, 1),
            "smallest_dbt_task_s": smallest,
            "dbt_tasks": len(dbt_tasks),
            "day_if_shrinkable_cost_nothing_s": round(floor, 1),
            "share_of_full_run": round(floor / full, 3)}


def markdown(out: dict) -> str:
    lines = [f"Day {out['day_s']:.1f} s, full run {out['full_run_s']:.1f} s.", "",
             "| day's tasks | tasks | seconds | share of the full run |", "|---|---:|---:|---:|"]
    for name, row in out["groups"].items():
        if row["tasks"]:
            lines.append(f"| {name} | {row['tasks']} | {row['seconds']:.1f} | "
                         f"{row['seconds'] / out['full_run_s']:.1%} |")
    lines += ["", f"If everything that could shrink cost nothing: **{out['day_if_shrinkable_cost_nothing_s']:.1f} s "
              f"= {out['share_of_full_run']:.1%} of the full run**.",
              f"With one Airflow task per dbt model each of those still costs at least the smallest dbt "
              f"task ({out['smallest_dbt_task_s']:.1f} s): **{out['day_if_shrinkable_cost_only_their_fixed_cost_s']:.1f} s "
              f"= {out['day_if_shrinkable_cost_only_their_fixed_cost_s'] / out['full_run_s']:.1%}**."]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--result", type=Path, default=REPO / "bench" / "results" / "large.json")
    ap.add_argument("--manifest", type=Path, default=REPO / "dbt_project" / "target" / "manifest.json")
    ap.add_argument("--json", type=Path, help="also write the split here")
    args = ap.parse_args()
    result = json.loads(args.result.read_text())
    if "dag_incremental" not in result.get("tasks", {}):
        raise SystemExit(f"{args.result}: no incremental day recorded (run bench/run.py without --skip incremental)")
    if not args.manifest.exists():
        raise SystemExit(f"{args.manifest} missing: run `make dbt-parse` first")
    out = split_day(result, json.loads(args.manifest.read_text()))
    out["result_file"] = str(args.result)
    print(markdown(out))
    for name, row in out["groups"].items():
        if row["tasks"]:
            print(f"  {name}: {', '.join(row['names'])}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
