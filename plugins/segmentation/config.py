"""Where things live. One place, read from the environment, no I/O at import.

Every path defaults to the repository layout so a fresh clone works, and every
path can be pointed elsewhere with an environment variable (docker-compose.yml
does exactly that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Paths of one deployment.

    home        SEGMENTS_HOME       root of all data (default: <repo>/data)
    landing     SEGMENTS_LANDING    where extracts are delivered, one folder per source
    quarantine  SEGMENTS_QUARANTINE rejected files with a reason file beside each
    warehouse   SEGMENTS_WAREHOUSE  the DuckDB warehouse file (single writer)
    serving     SEGMENTS_SERVING    the published, read-only copy BI tools open
    reports     SEGMENTS_REPORTS    HTML reports and Data Docs
    dbt_project SEGMENTS_DBT_PROJECT the dbt project directory
    expectations SEGMENTS_EXPECTATIONS the Great Expectations suites
    exports     SEGMENTS_EXPORTS    audience exports for marketing tools (default: <home>/exports)
    """

    home: Path
    landing: Path
    quarantine: Path
    warehouse: Path
    serving: Path
    reports: Path
    dbt_project: Path
    expectations: Path
    exports: Path | None = None  # None -> <home>/exports (see audience_dir)

    @property
    def audience_dir(self) -> Path:
        return self.exports if self.exports is not None else self.home / "exports"

    @classmethod
    def from_env(cls) -> "Settings":
        home = _path("SEGMENTS_HOME", REPO_ROOT / "data")
        return cls(
            home=home,
            landing=_path("SEGMENTS_LANDING", home / "landing"),
            quarantine=_path("SEGMENTS_QUARANTINE", home / "quarantine"),
            warehouse=_path("SEGMENTS_WAREHOUSE", home / "warehouse" / "warehouse.duckdb"),
            serving=_path("SEGMENTS_SERVING", home / "serving" / "segments.duckdb"),
            reports=_path("SEGMENTS_REPORTS", home / "reports"),
            dbt_project=_path("SEGMENTS_DBT_PROJECT", REPO_ROOT / "dbt_project"),
            expectations=_path("SEGMENTS_EXPECTATIONS", REPO_ROOT / "expectations"),
            exports=_path("SEGMENTS_EXPORTS", home / "exports"),
        )

    def ensure_dirs(self) -> None:
        for p in (self.landing, self.quarantine, self.warehouse.parent, self.serving.parent, self.reports):
            p.mkdir(parents=True, exist_ok=True)

    def dbt_env(self) -> dict[str, str]:
        """Environment a dbt invocation needs to find this deployment's warehouse."""
        return {
            "SEGMENTS_WAREHOUSE": str(self.warehouse),
            "DBT_PROFILES_DIR": str(self.dbt_project),
        }
