"""Tags (vars.segment_tags) are checked like segment rules: same allow-list, errors name the tag and its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from segmentation.cli import main
from segmentation.errors import ConfigError
from segmentation.rules import check_rules, check_tags, load_rules, profile_columns, validate_rules

REPO = Path(__file__).resolve().parents[2]
DBT = REPO / "dbt_project"

RULES = ("name: segments\nvars:\n  segment_rules:\n"
         "    - name: rest\n      priority: 1\n      description: \"everyone\"\n      when: \"true\"\n")
TAGS_HEADER = "  segment_tags:\n"
# The first tag starts on line 9 (after the 7 lines of RULES and the header); each tag has 4 lines.


def _tag(name: str, priority: int, when: str) -> str:
    return (f"    - name: {name}\n      priority: {priority}\n"
            f"      description: \"{name} customers\"\n      when: \"{when}\"\n")


def _when_line(k: int) -> int:
    return 9 + 4 * k + 3


def _write(tmp_path: Path, *tags: str) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(RULES + TAGS_HEADER + "".join(tags), encoding="utf-8")
    return path


def _problems(tmp_path: Path, *tags: str) -> list[str]:
    return validate_rules(load_rules(_write(tmp_path, *tags), "segment_tags"), profile_columns(DBT), exclusive=False)


def test_shipped_tags_pass_and_come_back_in_priority_order():
    tags = check_tags(DBT)
    assert [t.name for t in tags] == ["vip_value", "cart_abandoner", "email_engaged", "discount_hunter",
                                      "multi_channel"]
    assert all(t.kind == "tag" for t in tags)


def test_tags_may_use_the_new_order_features_of_the_profile():
    columns = profile_columns(DBT)
    assert "discounted_orders_365d" in columns and "order_channels_365d" in columns


def test_unknown_column_in_a_tag_names_the_tag_and_line(tmp_path):
    problems = _problems(tmp_path, _tag("big", 1, "revenue_365d > 10"), _tag("clicky", 2, "email_clickz > 0"))
    assert problems == [f"rules.yml:{_when_line(1)}: tag 'clicky': unknown column 'email_clickz' "
                        "(not a documented column of marts.customer_profile)"]


@pytest.mark.parametrize("when, message", [
    ("orders_30d in (select 1)", "subqueries and SELECT are not allowed"),
    ("random() > 0.5", "function 'random' is not allowed"),
    ("orders_30d > 3; drop table marts.customer_profile", "semicolons are not allowed"),
    ("segment = 'vip'", "unknown column 'segment'"),
])
def test_unsafe_tag_sql_is_rejected(tmp_path, when, message):
    problems = _problems(tmp_path, _tag("bad", 1, when))
    assert any(p.startswith(f"rules.yml:{_when_line(0)}: tag 'bad': ") and message in p for p in problems), problems


def test_tag_that_can_never_match_or_always_matches_is_reported(tmp_path):
    problems = _problems(tmp_path, _tag("never", 1, "orders_30d > 5 and orders_30d < 3"), _tag("all", 2, "true"))
    assert problems == [
        f"rules.yml:{_when_line(0)}: tag 'never': can never match "
        "(its comparisons contradict each other or it is literally false)",
        f"rules.yml:{_when_line(1)}: tag 'all': applies to every customer (always true): "
        "a tag everyone has separates nobody",
    ]


def test_overlapping_and_nested_tags_are_fine_because_tags_are_not_exclusive(tmp_path):
    # 'big' implies 'medium': as segment rules this would be a shadowed rule, as tags it is normal
    assert _problems(tmp_path, _tag("medium", 1, "revenue_365d >= 100"), _tag("big", 2, "revenue_365d >= 1000")) == []


def test_duplicate_tag_names_and_priorities_are_reported(tmp_path):
    problems = _problems(tmp_path, _tag("vip_value", 1, "revenue_365d > 1"), _tag("vip_value", 1, "orders_30d > 1"))
    assert f"rules.yml:{9 + 4}: tag 'vip_value': duplicate name (also line 9)" in problems
    assert any(p.startswith(f"rules.yml:{9 + 4 + 1}: tag 'vip_value': duplicate priority 1 (also tag 'vip_value'")
               for p in problems)


def test_a_broken_tag_fails_the_rule_check_the_dag_runs(tmp_path):
    path = _write(tmp_path, _tag("clicky", 1, "email_clickz > 0"))
    with pytest.raises(ConfigError) as err:
        check_rules(DBT, path)
    assert f"rules.yml:{_when_line(0)}: tag 'clicky': unknown column 'email_clickz'" in str(err.value)


@pytest.mark.parametrize("tags_yaml", ["", "  segment_tags: []\n", "  segment_tags:\n"])
def test_missing_or_empty_tag_list_means_no_tags(tmp_path, tags_yaml):
    path = tmp_path / "rules.yml"
    path.write_text(RULES + tags_yaml, encoding="utf-8")
    assert load_rules(path, "segment_tags") == []
    assert [r.name for r in check_rules(DBT, path)] == ["rest"]
    assert check_tags(DBT, path) == []


def test_tags_that_are_not_a_list_are_a_config_error(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES + "  segment_tags: vip\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules.yml:8: vars.segment_tags must be a non-empty list of tags"):
        load_rules(path, "segment_tags")


def test_cli_rules_check_lists_tags_and_exits_2_on_a_bad_tag(tmp_path, capsys):
    assert main(["rules-check", "--project-dir", str(DBT)]) == 0
    out = capsys.readouterr().out
    assert "OK: 5 tags are valid" in out and "discount_hunter" in out
    project = tmp_path / "project"
    (project / "models" / "marts").mkdir(parents=True)
    shutil.copy(DBT / "models" / "marts" / "_marts__models.yml", project / "models" / "marts")
    (project / "dbt_project.yml").write_text(RULES + TAGS_HEADER + _tag("never", 1, "orders_30d < 0 and orders_30d > 0"))
    assert main(["rules-check", "--project-dir", str(project)]) == 2
    assert f"dbt_project.yml:{_when_line(0)}: tag 'never': can never match" in capsys.readouterr().err
