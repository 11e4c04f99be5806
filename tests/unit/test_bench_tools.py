"""The benchmark tools' own logic: bench/day_floor.py's split and bench/run.py's floor goal."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _manifest() -> dict:
    """features reads as_of_date through a helper macro, segments is downstream of it;
    crm uses only the birth-date bound; orders never reads the date."""
    def macro(uid, *calls):
        return uid, {"depends_on": {"macros": list(calls)}}

    def model(name, *macros):
        return f"model.segments.{name}", {"resource_type": "model", "depends_on": {"macros": list(macros)}}

    return {
        "metadata": {"project_name": "segments"},
        "macros": dict([macro("macro.segments.as_of_date"),
                        macro("macro.segments.in_window", "macro.segments.as_of_date"),
                        macro("macro.segments.parse_birth_date", "macro.segments.as_of_date")]),
        "nodes": dict([model("stg_orders"), model("stg_crm", "macro.segments.parse_birth_date"),
                       model("features", "macro.segments.in_window"), model("segments")]),
        "child_map": {"model.segments.stg_orders": ["model.segments.features"],
                      "model.segments.stg_crm": ["model.segments.features"],
                      "model.segments.features": ["model.segments.segments", "test.segments.not_null_x"],
                      "model.segments.segments": []},
    }


def test_as_of_models_are_found_through_macros_and_downstream_but_not_through_the_birth_date_bound():
    day_floor = _module("day_floor")
    assert day_floor.as_of_nodes(_manifest()) == {"model.segments.features", "model.segments.segments"}


def test_the_day_is_split_by_what_it_must_redo():
    day_floor = _module("day_floor")
    result = {
        "stages": [{"name": "dag_full", "seconds": 100.0}, {"name": "dag_incremental", "seconds": 40.0}],
        "tasks": {"dag_incremental": [
            {"task": "load_raw_extracts", "seconds": 2.0},
            {"task": "dbt_build.stg_orders_model_build", "seconds": 10.0},
            {"task": "dbt_build.stg_crm_model_build", "seconds": 5.0},
            {"task": "dbt_build.features_model_build", "seconds": 6.0},
            {"task": "dbt_build.segments_model_build", "seconds": 1.0},
            {"task": "publish", "seconds": 3.0},
        ]},
    }
    out = day_floor.split_day(result, _manifest())
    groups = {name: (row["tasks"], row["seconds"]) for name, row in out["groups"].items()}
    assert groups[day_floor.AS_OF] == (2, 7.0)
    assert groups[day_floor.SHRINKABLE] == (2, 15.0)
    assert groups[day_floor.AFTER_DBT] == (1, 3.0)
    assert groups[day_floor.PER_BATCH] == (1, 2.0)
    assert out["day_if_shrinkable_cost_nothing_s"] == 12.0 and out["share_of_full_run"] == 0.12
    # each of the two shrinkable dbt tasks still costs the smallest dbt task (1.0 s)
    assert out["day_if_shrinkable_cost_only_their_fixed_cost_s"] == 14.0


def test_the_floor_goal_is_judged_only_against_a_floor_from_the_same_run():
    run = _module("run")
    stages = [{"name": "dag_full", "seconds": 400.0, "peak_mib": 1024.0}]
    without = {g["goal"]: g for g in run.goals({"stages": stages, "floor_reference": {"seconds": 200.0}})}
    floor_goal = next(g for name, g in without.items() if "floor" in name)
    assert floor_goal["met"] is None and "not measured in this run" in floor_goal["measured"]
    with_floor = run.goals({"stages": stages + [{"name": "floor", "seconds": 100.0, "peak_mib": 1.0}]})
    floor_goal = next(g for g in with_floor if "floor" in g["goal"])
    assert floor_goal["measured"].startswith("4.0x") and floor_goal["met"] is True
