"""Per-model execution time of two dbt runs, side by side (from their run_results.json).

    python bench/compare_runs.py <target dir A> <target dir B> [--json out.json]

Used for the before/after figures of an incremental day at `large`
(bench/RESULTS.md, "session 6"): the same day's files loaded into two copies
of the warehouse, `dbt build` with the old code on one and the new code on
the other, one after the other on an idle machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def model_times(target: Path) -> tuple[dict[str, float], float]:
    results = json.loads((target / "run_results.json").read_text())
    times: dict[str, float] = {}
    for result in results["results"]:
        uid = result["unique_id"]
        name = uid.split(".")[-1] if uid.startswith(("model.", "seed.")) else "(data and unit tests)"
        times[name] = times.get(name, 0.0) + result["execution_time"]
    return times, results["elapsed_time"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--json", type=Path, help="also write both runs' times here")
    args = ap.parse_args()
    a, elapsed_a = model_times(args.a)
    b, elapsed_b = model_times(args.b)
    print(f"{'model':45s} {'A s':>8s} {'B s':>8s} {'B-A':>8s}")
    for name in sorted(set(a) | set(b), key=lambda n: -max(a.get(n, 0), b.get(n, 0))):
        print(f"{name:45s} {a.get(name, 0):8.1f} {b.get(name, 0):8.1f} {b.get(name, 0) - a.get(name, 0):+8.1f}")
    print(f"{'sum of node times':45s} {sum(a.values()):8.1f} {sum(b.values()):8.1f}")
    print(f"{'dbt elapsed':45s} {elapsed_a:8.1f} {elapsed_b:8.1f}")
    if args.json:
        args.json.write_text(json.dumps({"a": {"target": str(args.a), "elapsed": elapsed_a, "models": a},
                                         "b": {"target": str(args.b), "elapsed": elapsed_b, "models": b}},
                                        indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
