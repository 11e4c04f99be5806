"""Fixtures for loader reliability tests: a throw-away deployment per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_helpers import Deployment, make_deployment


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    return make_deployment(tmp_path / "home")
