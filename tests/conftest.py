"""Shared fixtures. Environment is set before anything imports Airflow.

Airflow runs embedded on SQLite in a per-session temporary AIRFLOW_HOME, so
tests never touch the developer's .airflow/ or data/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="segments-tests-"))

os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["DBT_PROFILES_DIR"] = str(REPO / "dbt_project")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
# Anything that forgets to point at a temporary home writes here, not into data/.
os.environ["SEGMENTS_HOME"] = str(_SESSION_DIR / "default-home")
os.environ.setdefault("SEGMENTS_WAREHOUSE", str(_SESSION_DIR / "default-home" / "warehouse" / "warehouse.duckdb"))
# Publishing hashed identifiers needs a PII salt (docs/privacy.md); a real one is never in the repo.
os.environ.setdefault("SEGMENTS_PII_SALT", "tests-only-pii-salt-not-a-secret")

TINY_SEED = 7
TINY_AS_OF = date(2026, 11, 25)


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """dbt_project/target/manifest.json, which the DAG's cosmos task group renders from."""
    manifest = REPO / "dbt_project" / "target" / "manifest.json"
    subprocess.run([str(BIN / "dbt"), "parse", "--quiet", "--project-dir", str(REPO / "dbt_project")],
                   check=True, cwd=REPO / "dbt_project")
    assert manifest.exists()
    return manifest


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised Airflow metadata DB with the duckdb_writer pool."""
    from segmentation.airflow_setup import init_airflow

    init_airflow()
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def tiny_sample(tmp_path_factory) -> Path:
    """Generated tiny extracts (landing/ and ground_truth/) under a session directory. Read-only for tests."""
    from segmentation.generator import generate

    out = tmp_path_factory.mktemp("tiny-sample")
    generate(size="tiny", seed=TINY_SEED, as_of=TINY_AS_OF, out=out)
    return out
