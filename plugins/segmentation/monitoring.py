"""Settings and warehouse helpers shared by segment validation, alerts and the report.

The thresholds are configuration that analytics engineers own, next to the
segment rules: ``vars.segment_monitoring`` in ``dbt_project/dbt_project.yml``
(every key optional; the defaults below apply). Environment variables
override single values for one deployment (docs/segments.md lists them).

Everything here reads; nothing is written at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import duckdb
import yaml

from segmentation.errors import ConfigError

# KPI name -> profile column, tested with Kruskal-Wallis across segments.
DEFAULT_NUMERIC_KPIS: dict[str, str] = {
    "spend_365d": "revenue_365d",
    "orders_365d": "orders_365d",
    "engagement_score": "engagement_score",
    "sessions_30d": "sessions_30d",
}
# KPI name -> boolean condition over the profile (same safe SQL subset as the rules),
# tested with a chi-square test of independence (segment x yes/no).
DEFAULT_CATEGORICAL_KPIS: dict[str, str] = {
    "converted_90d": "orders_90d > 0",
    "email_engaged_90d": "email_clicks_90d > 0",
}

ENV_OVERRIDES: dict[str, str] = {
    "alpha": "SEGMENTS_VALIDATION_ALPHA",
    "min_effect_size": "SEGMENTS_VALIDATION_MIN_EFFECT_SIZE",
    "min_segment_customers": "SEGMENTS_MIN_SEGMENT_CUSTOMERS",
    "min_segment_share": "SEGMENTS_MIN_SEGMENT_SHARE",
    "alert_max_size_change": "SEGMENTS_ALERT_MAX_SIZE_CHANGE",
    "alert_min_customers": "SEGMENTS_ALERT_MIN_CUSTOMERS",
}


@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds of segment validation and size alerts.

    alpha                  a KPI test passes when p < alpha ...
    min_effect_size        ... and its effect size (epsilon-squared for Kruskal-Wallis,
                           Cramer's V for chi-square) is at least this
    min_segment_customers  a segment with fewer customers is flagged too small to act on
    min_segment_share      ... or with a smaller share of all customers
    alert_max_size_change  alert when a segment's size moves by more than this fraction
                           (0.25 = 25 %) since the last published run
    alert_min_customers    ignore segments smaller than this in both runs (noise)
    numeric_kpis           name -> profile column (Kruskal-Wallis)
    categorical_kpis       name -> boolean condition over profile columns (chi-square)
    """

    alpha: float = 0.01
    min_effect_size: float = 0.01
    min_segment_customers: int = 50
    min_segment_share: float = 0.005
    alert_max_size_change: float = 0.25
    alert_min_customers: int = 20
    numeric_kpis: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_NUMERIC_KPIS))
    categorical_kpis: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CATEGORICAL_KPIS))

    @classmethod
    def load(cls, dbt_project_dir: Path | None = None, environ: dict[str, str] | None = None) -> "MonitoringConfig":
        """Defaults, then ``vars.segment_monitoring`` of dbt_project.yml, then environment overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if dbt_project_dir is not None:
            values.update(_project_values(Path(dbt_project_dir) / "dbt_project.yml"))
        for name, env in ENV_OVERRIDES.items():
            if environ.get(env):
                values[name] = _number(environ[env], env, name)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        where = "vars.segment_monitoring"
        if not 0 < self.alpha < 1:
            raise ConfigError(f"{where}.alpha: must be between 0 and 1, got {self.alpha}")
        if self.min_effect_size < 0 or self.min_segment_share < 0 or self.min_segment_customers < 0:
            raise ConfigError(f"{where}: min_effect_size, min_segment_share and min_segment_customers "
                              "must not be negative")
        if self.alert_max_size_change <= 0:
            raise ConfigError(f"{where}.alert_max_size_change: must be > 0, got {self.alert_max_size_change}")
        for kind in ("numeric_kpis", "categorical_kpis"):
            mapping = getattr(self, kind)
            if not isinstance(mapping, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
                raise ConfigError(f"{where}.{kind}: must map KPI names to strings")
            for name in mapping:
                if not name.isidentifier() or name.lower() != name:
                    raise ConfigError(f"{where}.{kind}: KPI name {name!r} must be a lowercase identifier")


def _number(text: str, source: str, name: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{source}: {name} must be a number, got {text!r}") from None
    return int(value) if name.endswith("customers") else value


def _project_values(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    section = (doc.get("vars") or {}).get("segment_monitoring") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: vars.segment_monitoring must be a mapping")
    known = {f.name for f in fields(MonitoringConfig)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{path}: vars.segment_monitoring: unknown key(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
    values = dict(section)
    for name in known - {"numeric_kpis", "categorical_kpis"}:
        if name in values and not isinstance(values[name], (int, float)):
            raise ConfigError(f"{path}: vars.segment_monitoring.{name} must be a number, got {values[name]!r}")
    return values


# --------------------------------------------------------------------------- warehouse helpers


def duckdb_memory_limit() -> str:
    return os.environ.get("SEGMENTS_DUCKDB_MEMORY_LIMIT", "1GB")


def table_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether ``schema.table`` exists in the connection's current database."""
    schema, name = relation.split(".")
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def table_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    schema, name = relation.split(".")
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    ).fetchall()]


def current_as_of(con: duckdb.DuckDBPyConnection):
    """The as-of date of the segments in the warehouse (max of marts.customer_segments)."""
    return con.execute("select max(as_of_date) from marts.customer_segments").fetchone()[0]
