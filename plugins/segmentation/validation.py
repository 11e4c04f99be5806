"""Statistical validation of the segments, every run.

Question: do the segments differ on the KPIs they are meant to separate
(spend, order count, engagement, conversion)? If a segment split does not
separate customers on what marketing acts on, its rules need a look.

- Numeric KPIs (profile columns): Kruskal-Wallis H test across segments, with
  the tie correction, and epsilon-squared (H / (N - 1)) as effect size.
- Categorical KPIs (a yes/no condition over the profile, e.g. converted =
  ``orders_90d > 0``): chi-square test of independence on the segment x
  yes/no table, with Cramer's V as effect size.

A test passes when p < alpha and the effect size is at least
``min_effect_size`` (``vars.segment_monitoring``; a tiny effect is
"significant" on a million customers). Segments smaller than
``min_segment_customers`` or ``min_segment_share`` are flagged too small to
act on and left out of the tests.

Nothing is pulled into pandas: the ranks, rank sums per segment, tie counts
and the contingency tables are computed by DuckDB SQL (exact, no sampling);
Python receives one row per segment and does the arithmetic and the p-value
(scipy's chi-square distribution). Results go to ``meta.segment_validation``
(one row per grouping x KPI), ``meta.segment_size_checks`` (one row per
segment) and ``meta.segment_kpi_summary`` (mean / median / rate per segment
and KPI, for the report).

Groupings: the primary ``segment`` and, where the column exists, the RFM map
``rfm_segment`` of ``marts.customer_segments``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import duckdb

from segmentation.config import Settings
from segmentation.errors import ConfigError, SegmentsError
from segmentation.inprocess import release_inprocess_dbt
from segmentation.monitoring import (MonitoringConfig, current_as_of, duckdb_memory_limit, table_columns,
                                     table_exists)

log = logging.getLogger(__name__)

GROUPINGS = ("segment", "rfm_segment")
BASE_VIEW = "segment_validation_base"

VALIDATION_DDL = """
create table if not exists meta.segment_validation (
    run_id varchar not null,
    as_of_date date,
    grouping varchar not null,
    kpi varchar not null,
    kpi_kind varchar not null,
    kpi_definition varchar not null,
    test varchar not null,
    statistic double,
    df integer,
    p_value double,
    effect_size double,
    effect_measure varchar,
    customers bigint,
    segments_compared varchar,
    segments_excluded varchar,
    alpha double,
    min_effect_size double,
    passed boolean,
    note varchar,
    validated_at timestamp not null
)
"""
SIZE_DDL = """
create table if not exists meta.segment_size_checks (
    run_id varchar not null,
    as_of_date date,
    grouping varchar not null,
    segment varchar,
    customers bigint not null,
    share double not null,
    too_small boolean not null,
    reason varchar,
    validated_at timestamp not null
)
"""
KPI_SUMMARY_DDL = """
create table if not exists meta.segment_kpi_summary (
    run_id varchar not null,
    as_of_date date,
    grouping varchar not null,
    segment varchar,
    kpi varchar not null,
    customers bigint,
    mean double,
    median double,
    validated_at timestamp not null
)
"""


@dataclass(frozen=True)
class KpiTest:
    grouping: str
    kpi: str
    kpi_kind: str  # numeric | categorical
    kpi_definition: str
    test: str  # kruskal_wallis | chi_square
    statistic: float | None
    df: int | None
    p_value: float | None
    effect_size: float | None
    effect_measure: str
    customers: int
    segments_compared: list[str]
    segments_excluded: list[str]
    passed: bool | None  # None: not testable (fewer than two segments, no variation)
    note: str = ""

    def describe(self) -> str:
        if self.passed is None:
            return f"{self.grouping}/{self.kpi}: not tested ({self.note})"
        verdict = "separates" if self.passed else "does NOT separate"
        return (f"{self.grouping}/{self.kpi}: {verdict} segments ({self.test}: statistic {self.statistic:.1f}, "
                f"p={self.p_value:.3g}{' (underflow: < 1e-300)' if self.p_value == 0 else ''}, {self.effect_measure}={self.effect_size:.3f}, "
                f"{len(self.segments_compared)} segments, {self.customers:,} customers)")


@dataclass(frozen=True)
class SegmentSize:
    grouping: str
    segment: str | None
    customers: int
    share: float
    too_small: bool
    reason: str = ""


@dataclass
class ValidationResult:
    run_id: str
    as_of_date: date | None
    config: MonitoringConfig
    tests: list[KpiTest] = field(default_factory=list)
    sizes: list[SegmentSize] = field(default_factory=list)
    kpi_summary: list[tuple] = field(default_factory=list)  # (grouping, segment, kpi, customers, mean, median)

    @property
    def failed(self) -> list[KpiTest]:
        return [t for t in self.tests if t.passed is False]

    @property
    def too_small(self) -> list[SegmentSize]:
        return [s for s in self.sizes if s.too_small]

    def summary(self) -> str:
        tested = [t for t in self.tests if t.passed is not None]
        lines = [f"segment validation (run {self.run_id}, as of {self.as_of_date}): "
                 f"{sum(bool(t.passed) for t in tested)}/{len(tested)} KPI tests separate the segments "
                 f"(p < {self.config.alpha}, effect >= {self.config.min_effect_size})"]
        lines += [f"  {t.describe()}" for t in self.tests]
        for s in self.too_small:
            lines.append(f"  too small to act on: {s.grouping}={s.segment} ({s.customers:,} customers, "
                         f"{s.share:.2%}): {s.reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- statistics


def kruskal_wallis_from_ranks(groups: list[tuple[str, float, float]], tie_sum: float) -> tuple[float, int, float, float]:
    """H, df, p and epsilon-squared from (segment, n, rank sum) per group and sum(t^3 - t) over ties.

    H = 12 / (N (N + 1)) * sum n_i (mean rank_i - (N + 1) / 2)^2, divided by the
    tie correction 1 - sum(t^3 - t) / (N^3 - N) (as scipy.stats.kruskal).
    """
    from scipy.stats import chi2

    n_total = sum(n for _, n, _ in groups)
    k = len(groups)
    centre = (n_total + 1) / 2
    h = 12.0 / (n_total * (n_total + 1)) * sum(n * (r / n - centre) ** 2 for _, n, r in groups)
    correction = 1.0 - tie_sum / (n_total ** 3 - n_total)
    if correction <= 0:
        raise ValueError("all values are equal")
    h /= correction
    df = k - 1
    return h, df, float(chi2.sf(h, df)), h / (n_total - 1)


def chi_square(table: list[list[int]]) -> tuple[float, int, float, float]:
    """Chi-square statistic, df, p and Cramer's V of a contingency table (rows: segments)."""
    from scipy.stats import chi2_contingency

    rows = [r for r in table if sum(r) > 0]
    cols = [j for j in range(len(rows[0])) if sum(r[j] for r in rows) > 0] if rows else []
    if len(rows) < 2 or len(cols) < 2:
        raise ValueError("no variation")
    observed = [[r[j] for j in cols] for r in rows]
    res = chi2_contingency(observed, correction=False)
    n_total = sum(map(sum, observed))
    v = math.sqrt(res.statistic / (n_total * (min(len(observed), len(cols)) - 1)))
    return float(res.statistic), int(res.dof), float(res.pvalue), v


# --------------------------------------------------------------------------- SQL side


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check_kpis(config: MonitoringConfig, profile_cols: list[str]) -> None:
    from segmentation.rules import check_expression

    allowed = {c.lower() for c in profile_cols}
    for name, column in config.numeric_kpis.items():
        if column.lower() not in allowed:
            raise ConfigError(f"vars.segment_monitoring.numeric_kpis.{name}: unknown column {column!r} "
                              "(not a column of marts.customer_profile)")
    for name, condition in config.categorical_kpis.items():
        _, problems = check_expression(condition, allowed)
        if problems:
            raise ConfigError(f"vars.segment_monitoring.categorical_kpis.{name}: {'; '.join(problems)}")


def _sizes(con, grouping: str, config: MonitoringConfig) -> list[SegmentSize]:
    rows = con.execute(
        f"select {_q(grouping)}, count(*), count(*) / sum(count(*)) over () from {BASE_VIEW} "
        f"group by 1 order by 2 desc"
    ).fetchall()
    sizes = []
    for segment, customers, share in rows:
        reasons = []
        if customers < config.min_segment_customers:
            reasons.append(f"fewer than {config.min_segment_customers} customers")
        if share < config.min_segment_share:
            reasons.append(f"share below {config.min_segment_share:.2%}")
        sizes.append(SegmentSize(grouping, segment, int(customers), float(share), bool(reasons), "; ".join(reasons)))
    return sizes


def _in_list(segments: list[str]) -> str:
    return ", ".join(_lit(s) for s in segments)


def _numeric_test(con, grouping: str, name: str, column: str, eligible: list[str],
                  excluded: list[str], config: MonitoringConfig) -> KpiTest:
    g, x = _q(grouping), _q(column)
    rows = con.execute(
        f"""
        with v as (
            select {g} as grp, {x}::double as x from {BASE_VIEW}
            where {g} in ({_in_list(eligible)}) and {x} is not null
        ),
        ties as (select x, count(*)::double as t from v group by x),
        ranks as (
            select x, t, sum(t) over (order by x rows between unbounded preceding and current row) - (t - 1) / 2.0 as r
            from ties
        ),
        per_group as (select grp, count(*)::double as n, sum(r) as rank_sum from v join ranks using (x) group by grp)
        select grp, n, rank_sum, (select sum(t * t * t - t) from ties) from per_group order by grp
        """
    ).fetchall()
    groups = [(r[0], r[1], r[2]) for r in rows]
    compared = [grp for grp, _, _ in groups]
    empty = [s for s in eligible if s not in compared]
    n_total = int(sum(n for _, n, _ in groups))
    base = dict(grouping=grouping, kpi=name, kpi_kind="numeric", kpi_definition=column, test="kruskal_wallis",
                effect_measure="epsilon_squared", customers=n_total, segments_compared=compared,
                segments_excluded=excluded + [f"{s} (no values)" for s in empty])
    if len(groups) < 2:
        return KpiTest(statistic=None, df=None, p_value=None, effect_size=None, passed=None,
                       note=f"{len(groups)} segment(s) with values: nothing to compare", **base)
    try:
        h, df, p, eps = kruskal_wallis_from_ranks(groups, rows[0][3] or 0.0)
    except ValueError:
        return KpiTest(statistic=None, df=None, p_value=None, effect_size=None, passed=False,
                       note=f"every customer has the same {column}", **base)
    return KpiTest(statistic=h, df=df, p_value=p, effect_size=eps,
                   passed=p < config.alpha and eps >= config.min_effect_size, **base)


def _categorical_test(con, grouping: str, name: str, condition: str, eligible: list[str],
                      excluded: list[str], config: MonitoringConfig) -> KpiTest:
    g = _q(grouping)
    rows = con.execute(
        f"""select {g}, count(*) filter (where coalesce(({condition}), false)),
                   count(*) filter (where not coalesce(({condition}), false))
            from {BASE_VIEW} where {g} in ({_in_list(eligible)}) group by 1 order by 1"""
    ).fetchall()
    compared = [r[0] for r in rows]
    base = dict(grouping=grouping, kpi=name, kpi_kind="categorical", kpi_definition=condition, test="chi_square",
                effect_measure="cramers_v", customers=int(sum(r[1] + r[2] for r in rows)),
                segments_compared=compared, segments_excluded=excluded)
    if len(rows) < 2:
        return KpiTest(statistic=None, df=None, p_value=None, effect_size=None, passed=None,
                       note=f"{len(rows)} segment(s): nothing to compare", **base)
    try:
        stat, df, p, v = chi_square([[int(r[1]), int(r[2])] for r in rows])
    except ValueError:
        yes = sum(r[1] for r in rows)
        return KpiTest(statistic=None, df=None, p_value=None, effect_size=None, passed=False,
                       note=f"no variation: {'every' if yes else 'no'} customer has {condition}", **base)
    return KpiTest(statistic=stat, df=df, p_value=p, effect_size=v,
                   passed=p < config.alpha and v >= config.min_effect_size, **base)


def _kpi_summary(con, grouping: str, config: MonitoringConfig) -> list[tuple]:
    parts = []
    for name, column in config.numeric_kpis.items():
        parts.append(f"select {_q(grouping)} as segment, {_lit(name)} as kpi, count({_q(column)}) as customers, "
                     f"avg({_q(column)})::double as mean, median({_q(column)})::double as median "
                     f"from {BASE_VIEW} group by 1")
    for name, condition in config.categorical_kpis.items():
        parts.append(f"select {_q(grouping)} as segment, {_lit(name)} as kpi, count(*) as customers, "
                     f"avg(case when coalesce(({condition}), false) then 1.0 else 0.0 end) as mean, "
                     f"null::double as median from {BASE_VIEW} group by 1")
    if not parts:
        return []
    rows = con.execute(" union all ".join(parts) + " order by 2, 1").fetchall()
    return [(grouping, *r) for r in rows]


def compute_validation(con: duckdb.DuckDBPyConnection, run_id: str, config: MonitoringConfig) -> ValidationResult:
    """Run every KPI test on the warehouse behind ``con`` (reads marts only)."""
    for relation in ("marts.customer_segments", "marts.customer_profile"):
        if not table_exists(con, relation):
            raise SegmentsError(f"{relation} does not exist: run dbt build before validating segments")
    seg_cols = table_columns(con, "marts.customer_segments")
    profile_cols = table_columns(con, "marts.customer_profile")
    _check_kpis(config, profile_cols)
    groupings = [g for g in GROUPINGS if g in seg_cols]
    # A view over every profile column: DuckDB reads only the columns a query uses.
    clash = [c for c in profile_cols if c in groupings]
    profile = "p.*" + (f" exclude ({', '.join(_q(c) for c in clash)})" if clash else "")
    con.execute(
        f"create or replace temp view {BASE_VIEW} as select "
        + ", ".join([f"s.{_q(g)}" for g in groupings] + [profile])
        + " from marts.customer_segments s join marts.customer_profile p using (customer_key)"
    )
    result = ValidationResult(run_id=run_id, as_of_date=current_as_of(con), config=config)
    for grouping in groupings:
        sizes = _sizes(con, grouping, config)
        result.sizes.extend(sizes)
        eligible = [s.segment for s in sizes if not s.too_small and s.segment is not None]
        excluded = [f"{s.segment} (too small)" for s in sizes if s.too_small]
        for name, column in config.numeric_kpis.items():
            result.tests.append(_numeric_test(con, grouping, name, column, eligible, excluded, config))
        for name, condition in config.categorical_kpis.items():
            result.tests.append(_categorical_test(con, grouping, name, condition, eligible, excluded, config))
        result.kpi_summary.extend(_kpi_summary(con, grouping, config))
    con.execute(f"drop view if exists {BASE_VIEW}")
    return result


def record_validation(con: duckdb.DuckDBPyConnection, result: ValidationResult) -> None:
    """Replace this run's rows in meta.segment_validation / segment_size_checks / segment_kpi_summary."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("create schema if not exists meta")
    for ddl in (VALIDATION_DDL, SIZE_DDL, KPI_SUMMARY_DDL):
        con.execute(ddl)
    con.execute("begin")
    try:
        for table in ("segment_validation", "segment_size_checks", "segment_kpi_summary"):
            con.execute(f"delete from meta.{table} where run_id = ?", [result.run_id])
        cfg = result.config
        if result.tests:
            con.executemany(
                "insert into meta.segment_validation values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[result.run_id, result.as_of_date, t.grouping, t.kpi, t.kpi_kind, t.kpi_definition, t.test,
                  t.statistic, t.df, t.p_value, t.effect_size, t.effect_measure, t.customers,
                  ", ".join(t.segments_compared), ", ".join(t.segments_excluded), cfg.alpha, cfg.min_effect_size,
                  t.passed, t.note or None, now] for t in result.tests],
            )
        if result.sizes:
            con.executemany(
                "insert into meta.segment_size_checks values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[result.run_id, result.as_of_date, s.grouping, s.segment, s.customers, s.share, s.too_small,
                  s.reason or None, now] for s in result.sizes],
            )
        if result.kpi_summary:
            con.executemany(
                "insert into meta.segment_kpi_summary values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[result.run_id, result.as_of_date, *row, now] for row in result.kpi_summary],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def validate_segments(settings: Settings, run_id: str, config: MonitoringConfig | None = None,
                      record: bool = True) -> ValidationResult:
    """Validate the segments in the warehouse and (by default) record the results in meta.*."""
    config = config or MonitoringConfig.load(settings.dbt_project)
    if not settings.warehouse.exists():
        raise SegmentsError(f"{settings.warehouse}: warehouse file does not exist; run the pipeline first")
    release_inprocess_dbt()
    con = duckdb.connect(str(settings.warehouse), read_only=not record)
    try:
        con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
        result = compute_validation(con, run_id, config)
        if record:
            record_validation(con, result)
    finally:
        con.close()
    for test in result.failed:
        log.warning("segment validation: %s", test.describe())
    for size in result.too_small:
        log.warning("segment %s=%s is too small to act on: %s", size.grouping, size.segment, size.reason)
    return result


__all__ = ["KpiTest", "SegmentSize", "ValidationResult", "chi_square", "compute_validation",
           "kruskal_wallis_from_ranks", "record_validation", "validate_segments"]
