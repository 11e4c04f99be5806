"""Statistical validation of segments: right numbers, recorded, small segments flagged."""

from __future__ import annotations

import duckdb
import pytest
from scipy import stats

from _segment_marts import build_marts
from segmentation.errors import ConfigError
from segmentation.monitoring import MonitoringConfig
from segmentation.validation import chi_square, compute_validation, record_validation


@pytest.fixture()
def warehouse(tmp_path):
    return build_marts(tmp_path / "warehouse.duckdb")


def _by_kpi(result, grouping="segment"):
    return {t.kpi: t for t in result.tests if t.grouping == grouping}


def test_kruskal_wallis_in_sql_matches_scipy_on_the_raw_values(warehouse):
    con = duckdb.connect(str(warehouse))
    result = compute_validation(con, "run-1", MonitoringConfig(min_segment_customers=10))
    for kpi, column in (("spend_365d", "revenue_365d"), ("sessions_30d", "sessions_30d")):
        test = _by_kpi(result)[kpi]
        rows = con.execute(f"select s.segment, p.{column} from marts.customer_segments s "
                           "join marts.customer_profile p using (customer_key)").fetchall()
        groups: dict[str, list] = {}
        for segment, value in rows:
            if segment in test.segments_compared:
                groups.setdefault(segment, []).append(value)
        expected = stats.kruskal(*groups.values())
        assert test.statistic == pytest.approx(expected.statistic, rel=1e-9)
        assert test.p_value == pytest.approx(expected.pvalue, rel=1e-6)
        assert test.effect_size == pytest.approx(expected.statistic / (sum(map(len, groups.values())) - 1))
    con.close()


def test_chi_square_matches_scipy_and_reports_cramers_v():
    table = [[30, 10], [5, 45], [20, 20]]
    stat, df, p, v = chi_square(table)
    expected = stats.chi2_contingency(table, correction=False)
    assert (stat, df) == (pytest.approx(expected.statistic), expected.dof)
    assert p == pytest.approx(expected.pvalue)
    assert v == pytest.approx((expected.statistic / 130) ** 0.5)


def test_segments_built_to_differ_pass_and_segments_that_do_not_fail(tmp_path):
    differ = build_marts(tmp_path / "differ.duckdb")
    same = build_marts(tmp_path / "same.duckdb", differ=False)
    config = MonitoringConfig(min_segment_customers=10,
                              categorical_kpis={"converted_90d": "orders_90d > 0", "never": "orders_365d < 0"})
    with duckdb.connect(str(differ)) as con:
        good = _by_kpi(compute_validation(con, "r", config))
    with duckdb.connect(str(same)) as con:
        bad = _by_kpi(compute_validation(con, "r", config))
    for kpi in ("spend_365d", "orders_365d", "engagement_score", "converted_90d"):
        assert good[kpi].passed, good[kpi].describe()
        assert good[kpi].p_value < 1e-6
    # Every segment drawn from one distribution: the tests must not claim a difference.
    for kpi in ("spend_365d", "orders_365d", "engagement_score"):
        assert bad[kpi].passed is False, bad[kpi].describe()
    # A condition nobody meets cannot separate anything.
    assert good["never"].passed is False and "no variation" in good["never"].note


def test_small_segments_are_flagged_and_left_out_of_the_tests(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        result = compute_validation(con, "r", MonitoringConfig(min_segment_customers=50, min_segment_share=0.01))
    small = {s.segment: s for s in result.too_small if s.grouping == "segment"}
    assert set(small) == {"vip", "tiny_one"}
    assert "fewer than 50" in small["vip"].reason and "share below" in small["tiny_one"].reason
    spend = _by_kpi(result)["spend_365d"]
    assert "tiny_one" not in spend.segments_compared and "tiny_one (too small)" in spend.segments_excluded


def test_results_are_recorded_once_per_run_and_rfm_segments_are_validated_when_present(tmp_path):
    path = build_marts(tmp_path / "w.duckdb", history=True)
    with duckdb.connect(str(path)) as con:
        for _ in range(2):  # a retried task replaces its rows
            record_validation(con, compute_validation(con, "run-7", MonitoringConfig()))
        rows = con.execute("select grouping, count(*), count(p_value) from meta.segment_validation "
                           "where run_id = 'run-7' group by 1 order by 1").fetchall()
        flagged = con.execute("select count(*) from meta.segment_size_checks where too_small").fetchone()[0]
        medians = con.execute("select count(*) from meta.segment_kpi_summary where kpi = 'spend_365d' "
                              "and grouping = 'segment'").fetchone()[0]
    assert rows == [("rfm_segment", 6, 6), ("segment", 6, 6)]
    assert flagged >= 1
    assert medians == 6  # one per segment


def test_kpi_on_an_unknown_column_or_unsafe_condition_is_refused(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        with pytest.raises(ConfigError, match="numeric_kpis.spend.*unknown column 'revenue_999d'"):
            compute_validation(con, "r", MonitoringConfig(numeric_kpis={"spend": "revenue_999d"}))
        with pytest.raises(ConfigError, match="categorical_kpis.bad"):
            compute_validation(con, "r", MonitoringConfig(categorical_kpis={"bad": "orders_90d > 0; drop table x"}))


def test_monitoring_config_reads_dbt_project_vars_and_environment(tmp_path):
    (tmp_path / "dbt_project.yml").write_text(
        "vars:\n  segment_monitoring:\n    alpha: 0.05\n    alert_max_size_change: 0.5\n")
    config = MonitoringConfig.load(tmp_path, environ={"SEGMENTS_MIN_SEGMENT_CUSTOMERS": "12"})
    assert (config.alpha, config.alert_max_size_change, config.min_segment_customers) == (0.05, 0.5, 12)
    (tmp_path / "dbt_project.yml").write_text("vars:\n  segment_monitoring:\n    alpah: 0.05\n")
    with pytest.raises(ConfigError, match="unknown key.*alpah"):
        MonitoringConfig.load(tmp_path, environ={})
