"""Shared fixtures. Environment is set before anything imports Airflow.

Airflow runs embedded on SQLite in a per-session temporary AIRFLOW_HOME, so
tests never touch the developer's .airflow/ or data/.
"""

from __future__ import annotations

import fcntl
import hashlib
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
    # pytest-xdist workers share this target/ folder: the first worker parses, under a
    # lock, and the others reuse its manifest (a second parse would rewrite the file
    # while another worker's DAG test reads it).
    key = hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"segments-dbt-parse-{key}.lock"
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    done_marker = Path(tempfile.gettempdir()) / f"segments-dbt-parse-{key}-{run_id}.done" if run_id else None
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if done_marker is None or not done_marker.exists():
                subprocess.run([str(BIN / "dbt"), "parse", "--quiet", "--project-dir", str(REPO / "dbt_project")],
                               check=True, cwd=REPO / "dbt_project")
                if done_marker is not None:
                    done_marker.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
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


# Longest first: `make test` runs files on two pytest-xdist workers, and a
# multi-minute file that starts last leaves one worker idle while the other
# finishes it. Order inside each file is kept (stable sort).
_SLOW_FIRST = ("tests/e2e/", "tests/portability/", "tests/dbt/", "tests/reliability/test_crash_recovery")


def pytest_collection_modifyitems(config, items) -> None:
    def rank(item) -> int:
        path = Path(str(item.fspath)).relative_to(REPO).as_posix()
        return next((i for i, prefix in enumerate(_SLOW_FIRST) if path.startswith(prefix)), len(_SLOW_FIRST))

    items.sort(key=rank)
