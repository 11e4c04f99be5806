"""Preview a segment-rule change against the published customers, before dbt runs.

An analytics engineer edits ``vars.segment_rules`` and asks: who would move?
:func:`preview_rules` validates the edited rules (:mod:`segmentation.rules`),
compiles them into the same CASE expression the dbt macro ``segment_case``
emits, and evaluates it over the published ``main.customer_profile`` in the
serving DuckDB file, next to the published ``main.customer_segments``. The
serving file is opened read-only: nothing is written anywhere.

The answer is per segment (published, would-be, entering, leaving) plus the
transitions between segments, largest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from segmentation.errors import ConfigError, PublishError
from segmentation.rules import Rule, check_rules, compile_segment_case, sql_string, when_sql

NO_SEGMENT = "(none)"


@dataclass(frozen=True)
class SegmentChange:
    segment: str
    priority: int | None  # None: a published segment the edited rules no longer have
    published: int
    would_be: int
    entering: int
    leaving: int

    @property
    def delta(self) -> int:
        return self.would_be - self.published


@dataclass(frozen=True)
class Transition:
    from_segment: str
    to_segment: str
    customers: int


@dataclass(frozen=True)
class PreviewResult:
    rules_file: Path
    serving: Path
    as_of_date: date | None
    customers: int
    segments: list[SegmentChange]
    transitions: list[Transition]  # only customers that move, largest first
    unmatched: int  # customers no edited rule matches (dbt's not_null test would fail)

    @property
    def moved(self) -> int:
        return sum(t.customers for t in self.transitions)

    def segment(self, name: str) -> SegmentChange:
        for s in self.segments:
            if s.segment == name:
                return s
        raise KeyError(name)

    def format(self, top: int = 10) -> str:
        header = f"{'segment':<18}{'published':>11}{'would be':>11}{'change':>9}{'entering':>10}{'leaving':>9}"
        lines = [
            f"Preview of {self.rules_file} on {self.serving} (as of {self.as_of_date}, {self.customers:,} customers)",
            header,
            "-" * len(header),
        ]
        for s in self.segments:
            name = s.segment if s.priority is not None else f"{s.segment} (removed)"
            lines.append(f"{name:<18}{s.published:>11,}{s.would_be:>11,}{s.delta:>+9,}{s.entering:>10,}{s.leaving:>9,}")
        lines.append("-" * len(header))
        lines.append(f"{self.moved:,} of {self.customers:,} customers would change segment.")
        if self.transitions:
            lines.append("Top transitions (from -> to):")
            for t in self.transitions[:top]:
                lines.append(f"  {t.from_segment:<16} -> {t.to_segment:<16}{t.customers:>9,}")
        if self.unmatched:
            lines.append(f"WARNING: {self.unmatched:,} customers match no rule; dbt's not_null test on "
                         "customer_segments.segment would fail. Add a catch-all rule (when: \"true\") last.")
        return "\n".join(lines)


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def _failing_rule(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> str:
    """Name the first rule DuckDB cannot evaluate (e.g. comparing a date with a number)."""
    for rule in rules:
        try:
            con.execute(f"select count(*) from main.customer_profile where ({when_sql(rule)})").fetchone()
        except duckdb.Error as exc:
            return rule.problem(f"DuckDB cannot evaluate `when`: {str(exc).splitlines()[0]}", "when")
    return ""


def preview_rules(serving: Path, dbt_project_dir: Path, rules_file: Path | None = None) -> PreviewResult:
    """Compare the published segments with what ``rules_file`` would assign; writes nothing.

    Raises ConfigError when the rules are invalid and PublishError when nothing
    has been published yet.
    """
    dbt_project_dir = Path(dbt_project_dir)
    rules_file = Path(rules_file) if rules_file else dbt_project_dir / "dbt_project.yml"
    rules = check_rules(dbt_project_dir, rules_file)
    serving = Path(serving)
    if not serving.exists():
        raise PublishError(f"{serving}: nothing published yet; run the pipeline (`make run`) first")

    con = duckdb.connect(str(serving), read_only=True)
    try:
        for table in ("customer_profile", "customer_segments"):
            if not _table_exists(con, table):
                raise PublishError(f"{serving}: no table main.{table}; not a published serving file")
        case_sql = compile_segment_case(rules)
        sql = f"""
            with proposed as (
                select customer_key, {case_sql} as segment
                from main.customer_profile
            ),
            published as (
                select customer_key, segment from main.customer_segments
            )
            select coalesce(published.segment, {sql_string(NO_SEGMENT)}) as from_segment,
                   coalesce(proposed.segment, {sql_string(NO_SEGMENT)}) as to_segment,
                   count(*) as customers
            from proposed
            full outer join published on proposed.customer_key = published.customer_key
            group by all
        """
        try:
            pairs = con.execute(sql).fetchall()
        except duckdb.Error as exc:
            culprit = _failing_rule(con, rules)
            raise ConfigError(culprit or f"{rules_file}: evaluating the rules on {serving} failed: {exc}") from exc
        as_of = con.execute("select max(as_of_date) from main.customer_segments").fetchone()[0]
        published_priority = dict(con.execute(
            "select segment, min(segment_priority) from main.customer_segments group by segment").fetchall())
    finally:
        con.close()
    return _summarise(rules_file, serving, as_of, rules, pairs, published_priority)


def _summarise(rules_file: Path, serving: Path, as_of: date | None, rules: list[Rule],
               pairs: list[tuple[str, str, int]], published_priority: dict[str, int]) -> PreviewResult:
    published: dict[str, int] = {}
    would_be: dict[str, int] = {}
    entering: dict[str, int] = {}
    leaving: dict[str, int] = {}
    for from_seg, to_seg, n in pairs:
        published[from_seg] = published.get(from_seg, 0) + n
        would_be[to_seg] = would_be.get(to_seg, 0) + n
        if from_seg != to_seg:
            leaving[from_seg] = leaving.get(from_seg, 0) + n
            entering[to_seg] = entering.get(to_seg, 0) + n

    order: list[tuple[str, int | None]] = [(str(r.name), int(r.priority)) for r in rules]
    configured = {name for name, _ in order}
    extra = sorted((set(published) | set(would_be)) - configured,
                   key=lambda s: (s == NO_SEGMENT, published_priority.get(s, 10**9), s))
    order += [(s, None) for s in extra]
    segments = [
        SegmentChange(name, priority, published.get(name, 0), would_be.get(name, 0),
                      entering.get(name, 0), leaving.get(name, 0))
        for name, priority in order
    ]
    transitions = sorted((Transition(f, t, n) for f, t, n in pairs if f != t),
                         key=lambda t: (-t.customers, t.from_segment, t.to_segment))
    return PreviewResult(
        rules_file=rules_file,
        serving=serving,
        as_of_date=as_of,
        customers=sum(n for _, _, n in pairs),
        segments=segments,
        transitions=transitions,
        unmatched=would_be.get(NO_SEGMENT, 0),
    )
