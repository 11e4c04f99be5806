"""Segment rules are checked before dbt runs: every problem names the rule and its line."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

import duckdb
import jinja2
import pytest
import yaml

from segmentation.cli import main
from segmentation.errors import ConfigError
from segmentation.rules import check_rules, compile_segment_case, load_rules, profile_columns, validate_rules

REPO = Path(__file__).resolve().parents[2]
DBT = REPO / "dbt_project"

HEADER = "name: segments\nvars:\n  as_of_date: null\n  segment_rules:\n"


def _rule(name: str, priority: int, when: str) -> str:
    return (f"    - name: {name}\n      priority: {priority}\n"
            f"      description: \"{name} customers\"\n      when: \"{when}\"\n")


def _write(tmp_path: Path, *rules: str) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(HEADER + "".join(rules), encoding="utf-8")
    return path


def _problems(tmp_path: Path, *rules: str) -> list[str]:
    return validate_rules(load_rules(_write(tmp_path, *rules)), profile_columns(DBT))


# Rule k (0-based) written by _write starts on line 5 + 4k; its `when` is 3 lines below.
def _when_line(k: int) -> int:
    return 5 + 4 * k + 3


def test_shipped_rules_pass_and_come_back_in_priority_order():
    rules = check_rules(DBT)
    assert [r.name for r in rules] == ["vip", "new", "cart_abandoner", "active", "at_risk", "dormant", "prospect"]
    assert [r.priority for r in rules] == list(range(1, 8))


def test_allowed_columns_are_read_from_the_marts_yml():
    columns = profile_columns(DBT)
    assert "orders_30d" in columns and "engagement_percentile" in columns and "as_of_date" in columns
    assert "segment" not in columns  # a customer_segments column, not a profile column


def test_load_rules_keeps_line_numbers_of_each_field(tmp_path):
    rules = load_rules(_write(tmp_path, _rule("vip", 1, "orders_30d > 3"), _rule("rest", 2, "true")))
    assert rules[1].line == 9
    assert rules[1].lines == {"name": 9, "priority": 10, "description": 11, "when": 12}


def test_unknown_column_names_rule_and_line(tmp_path):
    problems = _problems(tmp_path, _rule("vip", 1, "ordrs_30d > 3"), _rule("rest", 2, "true"))
    assert problems == [f"rules.yml:{_when_line(0)}: rule 'vip': unknown column 'ordrs_30d' "
                        "(not a documented column of marts.customer_profile)"]


def test_bad_sql_syntax_is_reported(tmp_path):
    problems = _problems(tmp_path, _rule("rest", 1, "true"), _rule("vip", 2, "orders_30d >"))
    assert len(problems) == 1
    assert problems[0].startswith(f"rules.yml:{_when_line(1)}: rule 'vip': SQL syntax error")


@pytest.mark.parametrize("when, message", [
    ("orders_30d in (select 1)", "subqueries and SELECT are not allowed"),
    ("(select count(*) from marts.customer_pii) > 0", "subqueries and SELECT are not allowed"),
    ("orders_30d > 3; drop table marts.customer_profile", "semicolons are not allowed"),
    ("select 1", "not a SELECT statement"),
    ("random() > 0.5", "function 'random' is not allowed"),
    ("read_csv('/etc/passwd') is not null", "function 'read_csv' is not allowed"),
    ("current_date > as_of_date", "function 'current_date' is not allowed"),
    ("p.orders_30d > 3", "qualified column 'p.orders_30d' is not allowed"),
    ("orders_30d > 3) then 'x' when (true", "SQL syntax error"),
    ("orders_30d > 3 -- more", "SQL comments are not allowed"),
    ("days_since_last_order = null", "is never true (a comparison with NULL is NULL)"),
    ("orders_30d + 1", "must be a boolean condition"),
])
def test_unsafe_or_invalid_sql_is_rejected(tmp_path, when, message):
    problems = _problems(tmp_path, _rule("vip", 1, when), _rule("rest", 2, "true"))
    assert any(p.startswith(f"rules.yml:{_when_line(0)}: rule 'vip': ") and message in p for p in problems), problems


def test_safe_functions_and_operators_are_accepted(tmp_path):
    when = ("coalesce(days_since_last_order, 999) between 0 and 29 and lower(country_code) in ('de', 'at') "
            "and date_diff('day', signup_date, as_of_date) > 7 and round(ln(1 + abs(revenue_365d)), 1) >= 2 "
            "and (sms_opt_in or email_opt_in) and case when is_guest then 0 else 1 end = 1")
    assert _problems(tmp_path, _rule("picky", 1, when), _rule("rest", 2, "true")) == []


@pytest.mark.parametrize("when", [
    "orders_30d > 5 and orders_30d < 3",
    "false",
    "days_since_last_order >= 30 and (days_since_last_order < 30 and orders_30d > 0)",
    "days_since_last_order is null and days_since_last_order < 10",
    "1 = 0 and orders_30d > 0",
    "orders_30d between 5 and 3 or false",
])
def test_rule_that_can_never_match_is_reported(tmp_path, when):
    problems = _problems(tmp_path, _rule("never", 1, when), _rule("rest", 2, "true"))
    assert problems == [f"rules.yml:{_when_line(0)}: rule 'never': can never match "
                        "(its comparisons contradict each other or it is literally false)"]


def test_rule_shadowed_by_a_higher_priority_rule_is_reported(tmp_path):
    problems = _problems(
        tmp_path,
        _rule("active", 1, "days_since_last_order < 90"),
        _rule("recent_vip", 2, "days_since_last_order < 30 and orders_30d > 3"),
        _rule("rest", 3, "true"),
    )
    assert len(problems) == 1
    assert problems[0].startswith(f"rules.yml:{_when_line(1)}: rule 'recent_vip': is fully shadowed by rule "
                                  f"'active' (priority 1, line {_when_line(0)})")


def test_shadowing_follows_priority_not_file_order(tmp_path):
    problems = _problems(
        tmp_path,
        _rule("recent_vip", 1, "days_since_last_order < 30 and orders_30d > 3"),
        _rule("active", 2, "days_since_last_order < 90"),
        _rule("rest", 3, "true"),
    )
    assert problems == []
    problems = _problems(
        tmp_path,
        _rule("recent_vip", 2, "days_since_last_order < 30 and orders_30d > 3"),
        _rule("active", 1, "days_since_last_order < 90"),
        _rule("rest", 3, "true"),
    )
    assert [p.split(": ")[1] for p in problems] == ["rule 'recent_vip'"]


def test_overlapping_but_not_contained_rules_are_fine(tmp_path):
    problems = _problems(
        tmp_path,
        _rule("active", 1, "days_since_last_order < 90"),
        _rule("at_risk", 2, "days_since_last_order < 180"),
        _rule("big", 3, "orders_365d >= 10 or days_since_last_order < 60"),
        _rule("rest", 4, "true"),
    )
    assert problems == []


def test_catch_all_before_other_rules_is_reported_once(tmp_path):
    problems = _problems(
        tmp_path,
        _rule("everyone", 1, "true"),
        _rule("vip", 2, "orders_30d > 3"),
        _rule("active", 3, "days_since_last_order < 90"),
    )
    assert problems == [f"rules.yml:{_when_line(0)}: rule 'everyone': catch-all rule (always true) must have "
                        "the highest priority number; rules after it can never match: 'vip', 'active'"]


def test_duplicate_names_and_priorities_and_bad_names_are_reported(tmp_path):
    problems = _problems(
        tmp_path,
        _rule("vip", 1, "orders_30d > 3"),
        _rule("vip", 2, "orders_30d > 1"),
        _rule("Big-Spender", 2, "revenue_365d > 1000"),
        _rule("rest", 4, "true"),
    )
    assert f"rules.yml:{5 + 4}: rule 'vip': duplicate name (also line 5)" in problems
    assert any(p.startswith(f"rules.yml:{5 + 8 + 1}: rule 'Big-Spender': duplicate priority 2") for p in problems)
    assert any(p.startswith(f"rules.yml:{5 + 8}: rule 'Big-Spender': name 'Big-Spender' must match") for p in problems)


def test_missing_and_unknown_fields_are_reported(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent("""\
        - name: vip
          priority: 1
          wen: "orders_30d > 3"
        - priority: 2
          description: "no name"
          when: "true"
        """), "    "), encoding="utf-8")
    problems = validate_rules(load_rules(path), profile_columns(DBT))
    assert "rules.yml:5: rule 'vip': missing 'description'" in problems
    assert "rules.yml:5: rule 'vip': missing 'when'" in problems
    assert any(p.startswith("rules.yml:5: rule 'vip': unknown field 'wen'") for p in problems)
    assert "rules.yml:8: rule #2 (unnamed): missing 'name'" in problems


def test_check_rules_raises_one_config_error_listing_every_problem(tmp_path):
    path = _write(tmp_path, _rule("vip", 1, "ordrs_30d > 3"), _rule("rest", 1, "true"))
    with pytest.raises(ConfigError) as err:
        check_rules(DBT, path)
    message = str(err.value)
    assert message.startswith("2 problem(s) in segment rules")
    assert f"rules.yml:{_when_line(0)}: rule 'vip': unknown column 'ordrs_30d'" in message
    assert f"rules.yml:{5 + 4 + 1}: rule 'rest': duplicate priority 1" in message


def test_file_without_segment_rules_is_a_config_error(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text("name: segments\nvars:\n  as_of_date: null\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules.yml:2: vars has no 'segment_rules'"):
        load_rules(path)


# ---------------------------------------------------------------- the compiled CASE is dbt's CASE


def _render_dbt_segment_case(rules: list[dict]) -> str:
    """Render macros/segments/segment_case.sql with a minimal stand-in for dbt's Jinja context."""

    class Return(Exception):
        def __init__(self, value):
            self.value = value

    def _return(value):
        raise Return(value)

    def raise_compiler_error(message):
        raise AssertionError(message)

    source = "\n".join((DBT / "macros" / "segments" / name).read_text() for name in ("segment_rules.sql",
                                                                                       "segment_case.sql"))
    # segments.string_literal (macros/cross_db, dispatched): the default (DuckDB, PostgreSQL) quoting
    source += "\n" + (DBT / "macros" / "cross_db" / "literals.sql").read_text()
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    module_box: dict = {}

    class Segments:
        def __getattr__(self, name):
            macro = getattr(module_box["module"], name)

            def call(*args, **kwargs):
                try:
                    return macro(*args, **kwargs)
                except Return as r:
                    return r.value
            return call

    env.globals.update(
        var=lambda name, default=None: rules if name == "segment_rules" else default,
        exceptions=SimpleNamespace(raise_compiler_error=raise_compiler_error),
        modules=SimpleNamespace(re=re),
        segments=Segments(),
        adapter=SimpleNamespace(dispatch=lambda name, package=None: getattr(Segments(), f"default__{name}")),
    )
    env.globals["return"] = _return
    module_box["module"] = env.from_string(source).module
    return str(Segments().segment_case())


def _normalise(sql: str) -> str:
    return " ".join(sql.split())


def test_compiled_case_is_exactly_the_dbt_macro_output_for_the_shipped_rules():
    raw = yaml.safe_load((DBT / "dbt_project.yml").read_text())["vars"]["segment_rules"]
    rendered = _normalise(_render_dbt_segment_case(raw))
    segment_expr = rendered.split(" as segment,")[0]
    assert segment_expr == _normalise(compile_segment_case(load_rules(DBT / "dbt_project.yml")))


def test_compiled_case_orders_by_priority_like_the_dbt_macro(tmp_path):
    raw = list(reversed(yaml.safe_load((DBT / "dbt_project.yml").read_text())["vars"]["segment_rules"]))
    path = tmp_path / "reversed.yml"
    path.write_text(yaml.safe_dump({"vars": {"segment_rules": raw}}, sort_keys=False))
    rendered = _normalise(_render_dbt_segment_case(raw)).split(" as segment,")[0]
    compiled = _normalise(compile_segment_case(check_rules(DBT, path)))
    assert compiled == rendered
    assert compiled.index("'vip'") < compiled.index("'prospect'")


def test_compiled_case_matches_dbt_unit_test_expectations():
    spec = yaml.safe_load((DBT / "models" / "marts" / "_marts__models.yml").read_text())
    unit = next(t for t in spec["unit_tests"] if t["name"] == "test_segment_assignment_at_each_rule_boundary")
    given = unit["given"][0]["rows"]
    expected = {row["customer_key"]: row["segment"] for row in unit["expect"]["rows"]}
    con = duckdb.connect()
    con.execute("""create table customer_profile (customer_key varchar, orders_30d int, days_since_last_order int,
                   days_since_first_order int, engagement_percentile double, carts_abandoned_30d int,
                   as_of_date date)""")
    con.executemany("insert into customer_profile values (?, ?, ?, ?, ?, ?, ?)", [
        [r["customer_key"], r["orders_30d"], r["days_since_last_order"], r["days_since_first_order"],
         r["engagement_percentile"], r["carts_abandoned_30d"], r["as_of_date"]] for r in given])
    case_sql = compile_segment_case(check_rules(DBT))
    got = dict(con.execute(f"select customer_key, {case_sql} from customer_profile").fetchall())
    assert got == expected


# ---------------------------------------------------------------- CLI


def test_cli_rules_check_prints_ok_with_the_rule_list(capsys):
    assert main(["rules-check", "--project-dir", str(DBT)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 7 segment rules")
    assert "vip" in out and "prospect" in out


def test_cli_rules_check_exits_2_with_the_errors(tmp_path, capsys):
    project = tmp_path / "project"
    (project / "models" / "marts").mkdir(parents=True)
    shutil.copy(DBT / "models" / "marts" / "_marts__models.yml", project / "models" / "marts")
    (project / "dbt_project.yml").write_text(
        HEADER + _rule("vip", 1, "orders_30d > 3 and orders_30d < 2") + _rule("rest", 2, "true"))
    assert main(["rules-check", "--project-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert f"dbt_project.yml:{_when_line(0)}: rule 'vip': can never match" in err
