"""Fixtures for dbt tests: a raw layer in a temporary DuckDB file and a dbt runner.

Every dbt invocation writes its own target/ and logs/ under the test's tmp dir
and points SEGMENTS_WAREHOUSE at the test's DuckDB file, so tests never touch
dbt_project/target or data/ and can run next to other work.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_helpers import DBT_PROJECT, HANDMADE_ROWS, REPO_ROOT, DbtRun, GeneratedBuild, create_raw_tables, run_dbt


@pytest.fixture(scope="session")
def handmade_build(tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    """The hand-made raw layer, built once with `dbt build` as of 2026-11-25."""
    work = tmp_path_factory.mktemp("dbt_handmade")
    warehouse = work / "warehouse.duckdb"
    create_raw_tables(warehouse, HANDMADE_ROWS)
    return run_dbt("build", warehouse, work)


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory, tiny_sample: Path) -> GeneratedBuild:
    """The session's tiny sample (seed 7, as of 2026-11-25), loaded by the loader, built with dbt."""
    import shutil
    from dataclasses import replace

    from segmentation.config import Settings
    from segmentation.loading import load_new_files

    work = tmp_path_factory.mktemp("dbt_tiny")
    home = work / "home"
    shutil.copytree(tiny_sample / "landing", home / "landing")
    warehouse = home / "warehouse" / "warehouse.duckdb"
    settings = replace(Settings.from_env(), home=home, landing=home / "landing", quarantine=home / "quarantine",
                       warehouse=warehouse, serving=home / "serving" / "segments.duckdb", reports=home / "reports",
                       dbt_project=DBT_PROJECT, expectations=REPO_ROOT / "expectations")
    settings.ensure_dirs()
    load_new_files(settings, batch_id="tiny-1", settle_seconds=0)
    return GeneratedBuild(run_dbt("build", warehouse, work), tiny_sample / "ground_truth")
