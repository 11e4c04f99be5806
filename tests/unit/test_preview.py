"""`segments preview` shows who would move under edited rules, from the serving file, writing nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from segmentation.cli import main
from segmentation.errors import ConfigError, PublishError
from segmentation.preview import NO_SEGMENT, preview_rules
from segmentation.rules import check_rules, compile_segment_case

REPO = Path(__file__).resolve().parents[2]
DBT = REPO / "dbt_project"
SHIPPED = DBT / "dbt_project.yml"

# customer_key, orders_30d, days_since_last_order, days_since_first_order, engagement_percentile,
# carts_abandoned_30d -> published segment (shipped rules, hand-computed) and segment under VIP orders_30d > 5.
ROWS: list[tuple[str, int, int | None, int | None, float, int, str, str]] = [
    ("vip_4_orders", 4, 5, 200, 0.90, 0, "vip", "active"),
    ("vip_4_orders_new", 4, 10, 20, 0.95, 0, "vip", "new"),
    ("vip_5_orders", 5, 1, 300, 0.80, 0, "vip", "active"),
    ("vip_6_orders", 6, 2, 300, 0.85, 0, "vip", "vip"),
    ("vip_7_orders", 7, 29, 100, 1.00, 1, "vip", "vip"),
    ("vip_6_but_low_engagement", 6, 2, 300, 0.79, 0, "active", "active"),
    ("vip_6_but_last_order_30d", 6, 30, 300, 0.90, 0, "active", "active"),
    ("three_orders", 3, 3, 100, 0.90, 0, "active", "active"),
    ("new_a", 1, 5, 5, 0.20, 0, "new", "new"),
    ("new_b", 1, 29, 29, 0.30, 3, "new", "new"),
    ("new_boundary_30d", 1, 10, 30, 0.30, 0, "active", "active"),
    ("cart_never_ordered", 0, None, None, 0.40, 2, "cart_abandoner", "cart_abandoner"),
    ("cart_lapsed", 0, 120, 400, 0.40, 1, "cart_abandoner", "cart_abandoner"),
    ("cart_but_ordered", 1, 5, 300, 0.40, 1, "active", "active"),
    ("active_89d", 0, 89, 300, 0.50, 0, "active", "active"),
    ("at_risk_90d", 0, 90, 300, 0.50, 0, "at_risk", "at_risk"),
    ("at_risk_179d", 0, 179, 300, 0.50, 0, "at_risk", "at_risk"),
    ("dormant_180d", 0, 180, 400, 0.50, 0, "dormant", "dormant"),
    ("dormant_400d", 0, 400, 800, 0.10, 0, "dormant", "dormant"),
    ("prospect_1", 0, None, None, 0.00, 0, "prospect", "prospect"),
    ("prospect_2", 0, None, None, 0.10, 0, "prospect", "prospect"),
    ("prospect_3", 0, None, None, 0.60, 0, "prospect", "prospect"),
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def serving(tmp_path: Path) -> Path:
    """A serving file shaped like a publication, segments assigned by the shipped rules."""
    path = tmp_path / "serving" / "segments.duckdb"
    path.parent.mkdir()
    con = duckdb.connect(str(path))
    con.execute("""create table main.customer_profile (customer_key varchar, orders_30d bigint,
                   days_since_last_order integer, days_since_first_order integer,
                   engagement_percentile double, carts_abandoned_30d bigint, as_of_date date)""")
    con.executemany("insert into main.customer_profile values (?, ?, ?, ?, ?, ?, date '2026-11-25')",
                    [list(r[:6]) for r in ROWS])
    rules = check_rules(DBT)
    priority = " ".join(f"when '{r.name}' then {r.priority}" for r in rules)
    con.execute(f"""create table main.customer_segments as
                    select customer_key, segment, case segment {priority} end as segment_priority,
                           'rule' as segment_rule, as_of_date
                    from (select customer_key, {compile_segment_case(rules)} as segment, as_of_date
                          from main.customer_profile)""")
    con.close()
    return path


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "edited_dbt_project.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_fixture_segments_are_the_hand_computed_ones(serving):
    con = duckdb.connect(str(serving), read_only=True)
    got = dict(con.execute("select customer_key, segment from main.customer_segments").fetchall())
    con.close()
    assert got == {r[0]: r[6] for r in ROWS}


def test_unchanged_rules_move_nobody(serving):
    result = preview_rules(serving, DBT)
    assert result.moved == 0 and result.transitions == [] and result.unmatched == 0
    assert result.customers == len(ROWS)
    for change in result.segments:
        assert change.published == change.would_be
        assert change.entering == change.leaving == 0
    assert result.segment("prospect").published == 3


def test_raising_the_vip_threshold_reports_who_enters_and_leaves(serving, tmp_path):
    edited = _edited(tmp_path, "orders_30d > 3 and days_since_last_order < 30", "orders_30d > 5 and days_since_last_order < 30")
    result = preview_rules(serving, DBT, edited)

    expected_now = {r[0]: r[7] for r in ROWS}
    published = {r[0]: r[6] for r in ROWS}
    moves = {k: (published[k], expected_now[k]) for k in published if published[k] != expected_now[k]}
    assert moves == {"vip_4_orders": ("vip", "active"), "vip_4_orders_new": ("vip", "new"),
                     "vip_5_orders": ("vip", "active")}

    vip, active, new = result.segment("vip"), result.segment("active"), result.segment("new")
    assert (vip.published, vip.would_be, vip.entering, vip.leaving) == (5, 2, 0, 3)
    assert (active.published, active.would_be, active.entering, active.leaving) == (6, 8, 2, 0)
    assert (new.published, new.would_be, new.entering, new.leaving) == (2, 3, 1, 0)
    assert [(t.from_segment, t.to_segment, t.customers) for t in result.transitions] == [
        ("vip", "active", 2), ("vip", "new", 1)]
    assert result.moved == 3
    for name in ("cart_abandoner", "at_risk", "dormant", "prospect"):
        assert result.segment(name).entering == result.segment(name).leaving == 0

    text = result.format()
    assert "vip" in text and "vip              -> active" in text
    assert "3 of 22 customers would change segment." in text


def test_preview_writes_nothing(serving, tmp_path):
    edited = _edited(tmp_path, "days_since_last_order < 90", "days_since_last_order < 60")
    before = {p: (_sha256(p), p.stat().st_mtime_ns) for p in (serving, edited, SHIPPED)}
    files_before = sorted(p.name for p in serving.parent.iterdir())
    preview_rules(serving, DBT, edited)
    assert {p: (_sha256(p), p.stat().st_mtime_ns) for p in before} == before
    assert sorted(p.name for p in serving.parent.iterdir()) == files_before


def test_removed_segment_and_missing_catch_all_are_shown(serving, tmp_path):
    edited = _edited(tmp_path, """    - name: prospect
      priority: 7
      description: "Never completed an order (catch-all)"
      when: "true"
""", "")
    result = preview_rules(serving, DBT, edited)
    prospect = result.segment("prospect")
    assert prospect.priority is None
    assert (prospect.published, prospect.would_be, prospect.leaving) == (3, 0, 3)
    assert result.unmatched == 3
    assert result.segment(NO_SEGMENT).entering == 3
    assert "prospect (removed)" in result.format()
    assert "3 customers match no rule" in result.format()


def test_invalid_edited_rules_are_refused_before_reading_the_serving_file(tmp_path):
    edited = _edited(tmp_path, 'when: "days_since_first_order < 30"', 'when: "days_since_first_order < 30 or random() > 0"')
    with pytest.raises(ConfigError, match=r"edited_dbt_project.yml:\d+: rule 'new': function 'random' is not allowed"):
        preview_rules(tmp_path / "does-not-exist.duckdb", DBT, edited)


def test_rule_duckdb_cannot_evaluate_is_named(serving, tmp_path):
    # as_of_date is a documented column, but a date is not comparable with a number.
    edited = _edited(tmp_path, 'when: "days_since_first_order < 30"', 'when: "as_of_date > 5"')
    with pytest.raises(ConfigError, match=r"rule 'new': DuckDB cannot evaluate `when`"):
        preview_rules(serving, DBT, edited)


def test_nothing_published_is_a_publish_error(tmp_path):
    with pytest.raises(PublishError, match="nothing published yet"):
        preview_rules(tmp_path / "missing.duckdb", DBT)


def test_cli_preview_prints_the_table(serving, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEGMENTS_SERVING", str(serving))
    edited = _edited(tmp_path, "orders_30d > 3 and days_since_last_order < 30", "orders_30d > 5 and days_since_last_order < 30")
    assert main(["preview", "--rules", str(edited), "--project-dir", str(DBT)]) == 0
    out = capsys.readouterr().out
    assert "Top transitions" in out and "3 of 22 customers would change segment." in out
