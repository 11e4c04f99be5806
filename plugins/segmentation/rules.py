"""Segment rules: load them from dbt_project.yml and check them before dbt runs.

The rules are ``vars.segment_rules`` in ``dbt_project/dbt_project.yml``: a list
of ``{name, priority, description, when}``. dbt's ``segment_case`` macro pastes
each ``when`` verbatim into ``case when (<when>) then '<name>'``, so a rule is
SQL that runs inside the warehouse. This module checks, without dbt and without
a database, that every rule is

- complete and well named (all four fields, lower_snake_case name, integer
  priority, no duplicate name or priority);
- one safe SQL expression (parsed with sqlglot, DuckDB dialect): only columns
  of ``marts.customer_profile``, constants, operators, CASE / IN / BETWEEN /
  IS NULL, boolean logic and a small allow-list of pure functions. No
  statement, subquery, table, semicolon or comment;
- able to match someone: no contradictory comparisons with constants
  (``orders_30d > 5 and orders_30d < 3``), no literal ``false``, no ``= null``;
- reachable: the primary segment is the first match by priority, so a rule
  whose condition implies a higher-priority rule's condition is never
  assigned, and a catch-all (``true``) must come last.

Every problem is reported as ``<file>:<line>: rule '<name>': <message>`` with
the line in the YAML file, and :func:`check_rules` raises one
:class:`~segmentation.errors.ConfigError` listing all of them.

Tags (``vars.segment_tags``, optional) have the same shape and the same
allow-list, and are checked by the same code (problems read
``<file>:<line>: tag '<name>': ...``), except that tags are non-exclusive:
every tag whose condition holds applies, so overlap and order do not matter;
a tag that can never match, or that applies to everyone (``true``), is an error.

The reachability and never-match checks are an interval analysis per column
on disjunctions of conjunctions of ``column <op> constant`` comparisons; any
other condition is treated as an opaque atom (compared by its normalised SQL).
It is sound (never reports a rule that can match or is reachable) but not
complete: e.g. ``orders_30d > 3 and orders_30d < 4`` is not reported, because
column types are not known.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from segmentation.errors import ConfigError

log = logging.getLogger(__name__)

DIALECT = "duckdb"
PROFILE_MODEL = "customer_profile"
RULE_FIELDS: tuple[str, ...] = ("name", "priority", "description", "when")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

# Functions a rule may call: pure, deterministic, scalar. Anything else
# (current_date, random, read_csv, getenv, ...) is rejected.
ALLOWED_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Coalesce: "coalesce",
    exp.Abs: "abs",
    exp.Least: "least",
    exp.Greatest: "greatest",
    exp.Round: "round",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.DateDiff: "date_diff",
    exp.Nullif: "nullif",
    exp.Ln: "ln",
    exp.Log: "log",
    exp.Sqrt: "sqrt",
}

# Non-function syntax a rule may use.
ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.And, exp.Or, exp.Not, exp.Xor,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.Is, exp.In, exp.Between, exp.Like, exp.ILike,
    exp.Case, exp.If,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.DPipe,
    exp.Cast, exp.DataType,
)

_COMPARISONS: dict[type[exp.Expression], str] = {exp.EQ: "=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_FLIPPED = {"=": "=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}


@dataclass(frozen=True)
class Rule:
    """One entry of vars.segment_rules as written, with where it was written.

    Fields are the raw YAML values (``None`` when missing) so validation can
    report every problem; ``lines`` maps each present field to its line.
    """

    index: int
    name: Any
    priority: Any
    description: Any
    when: Any
    line: int
    file: str = "dbt_project.yml"
    lines: dict[str, int] = field(default_factory=dict)
    unknown_fields: tuple[str, ...] = ()
    kind: str = "rule"  # "rule" (vars.segment_rules) or "tag" (vars.segment_tags)

    @property
    def label(self) -> str:
        return f"'{self.name}'" if isinstance(self.name, str) and self.name else f"#{self.index + 1} (unnamed)"

    def where(self, field_name: str | None = None) -> str:
        return f"{self.file}:{self.lines.get(field_name, self.line) if field_name else self.line}"

    def problem(self, message: str, field_name: str | None = None) -> str:
        return f"{self.where(field_name)}: {self.kind} {self.label}: {message}"


# --------------------------------------------------------------------------- loading


def _mapping_get(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


RULES_KEY = "segment_rules"
TAGS_KEY = "segment_tags"


def load_rules(path: Path, key: str = RULES_KEY) -> list[Rule]:
    """The rules of ``vars.<key>`` in ``path``, in file order, with line numbers.

    ``key`` is ``segment_rules`` (required, non-empty) or ``segment_tags``
    (optional: missing or empty means no tags).
    Raises ConfigError when the file cannot be read or parsed, or has no
    ``vars.segment_rules`` list; problems inside rules are left to
    :func:`validate_rules`.
    """
    if key not in (RULES_KEY, TAGS_KEY):
        raise ValueError(f"key must be {RULES_KEY!r} or {TAGS_KEY!r}, not {key!r}")
    kind = "rule" if key == RULES_KEY else "tag"
    optional = key == TAGS_KEY
    path = Path(path)
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read segment rules: {exc.strerror or exc}") from exc
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{label}: file is empty; expected vars.{key}")
        vars_entry = _mapping_get(root, "vars")
        if vars_entry is None:
            if optional:
                return []
            raise ConfigError(f"{label}: no 'vars' mapping; expected vars.{key}")
        rules_entry = _mapping_get(vars_entry[1], key)
        if rules_entry is None:
            if optional:
                return []
            raise ConfigError(f"{label}:{vars_entry[0].start_mark.line + 1}: vars has no '{key}'")
        key_node, seq = rules_entry
        if optional and isinstance(seq, yaml.ScalarNode) and seq.tag == "tag:yaml.org,2002:null":
            return []
        if optional and isinstance(seq, yaml.SequenceNode) and not seq.value:
            return []
        if not isinstance(seq, yaml.SequenceNode) or not seq.value:
            raise ConfigError(
                f"{label}:{key_node.start_mark.line + 1}: vars.{key} must be a non-empty list of {kind}s"
            )
        rules = []
        for i, item in enumerate(seq.value):
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                rules.append(Rule(index=i, name=None, priority=None, description=None, when=None, line=line,
                                  file=label, unknown_fields=("<not a mapping>",), kind=kind))
                continue
            values: dict[str, Any] = {}
            lines: dict[str, int] = {}
            unknown: list[str] = []
            for k, v in item.value:
                key = loader.construct_object(k, deep=True)
                if key in RULE_FIELDS:
                    values[key] = loader.construct_object(v, deep=True)
                    lines[key] = v.start_mark.line + 1
                else:
                    unknown.append(str(key))
            rules.append(Rule(index=i, line=line, file=label, lines=lines, unknown_fields=tuple(unknown),
                              kind=kind, **{f: values.get(f) for f in RULE_FIELDS}))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return rules


def profile_columns(dbt_project_dir: Path) -> list[str]:
    """Columns of marts.customer_profile as documented in models/marts/**/*.yml."""
    marts = Path(dbt_project_dir) / "models" / "marts"
    for yml in sorted([*marts.rglob("*.yml"), *marts.rglob("*.yaml")]):
        try:
            doc = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{yml}: not valid YAML: {exc}") from exc
        for model in doc.get("models") or []:
            if isinstance(model, dict) and model.get("name") == PROFILE_MODEL:
                columns = [c["name"] for c in model.get("columns") or [] if isinstance(c, dict) and c.get("name")]
                if columns:
                    return columns
    raise ConfigError(f"{marts}: no documented columns for model {PROFILE_MODEL} in any .yml; "
                      "rules can only be checked against the documented profile columns")


# --------------------------------------------------------------------------- SQL safety


def check_expression(sql: str, allowed_columns: set[str]) -> tuple[exp.Expression | None, list[str]]:
    """Parse one rule condition and list what makes it unsafe or invalid.

    Returns the parsed expression (None when it does not parse) and problems.
    """
    problems: list[str] = []
    try:
        tokens = Dialect.get_or_raise(DIALECT).tokenize(sql)
    except TokenError as exc:
        return None, [f"SQL syntax error in `when`: {exc}"]
    if any(t.token_type == TokenType.SEMICOLON for t in tokens):
        problems.append("`when` must be one expression: semicolons are not allowed")
    if any(t.comments for t in tokens):
        problems.append("SQL comments are not allowed in `when` (the macro pastes it inside parentheses)")
    if problems:
        return None, problems
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        detail = exc.errors[0]["description"] if exc.errors else str(exc)
        return None, [f"SQL syntax error in `when`: {detail}"]
    if len(statements) != 1:
        return None, ["`when` must be exactly one SQL expression"]
    tree = statements[0]
    if isinstance(tree, (exp.Query, exp.Subquery)) or not isinstance(tree, (exp.Condition, exp.Func)):
        kind = tree.key.upper()
        return None, [f"`when` must be a boolean expression, not a {kind} statement"]

    unknown: list[str] = []
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery)):
            problems.append("subqueries and SELECT are not allowed in `when`")
        elif isinstance(node, exp.Table):
            problems.append("table references are not allowed in `when`")
        elif isinstance(node, exp.Column):
            if node.table or node.args.get("db") or node.args.get("catalog"):
                problems.append(f"qualified column {node.sql(dialect=DIALECT)!r} is not allowed "
                                "(use the bare column name of customer_profile)")
            elif node.name.lower() not in allowed_columns and node.name.lower() not in unknown:
                unknown.append(node.name.lower())
        elif isinstance(node, exp.Var) and isinstance(node.parent, exp.DateDiff) and node.arg_key == "unit":
            continue
        elif isinstance(node, exp.Func) and type(node) in ALLOWED_FUNCTIONS:
            continue
        elif isinstance(node, exp.Func) and not isinstance(node, ALLOWED_NODES):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql(dialect=DIALECT).split("(")[0]
            problems.append(f"function {name.lower()!r} is not allowed "
                            f"(allowed: {', '.join(sorted(set(ALLOWED_FUNCTIONS.values())))})")
        elif not isinstance(node, ALLOWED_NODES):
            problems.append(f"{node.key.upper()} ({node.sql(dialect=DIALECT)!r}) is not allowed in `when`")
        if isinstance(node, tuple(_COMPARISONS) + (exp.NEQ,)) and (
                isinstance(node.left, exp.Null) or isinstance(node.right, exp.Null)):
            problems.append(f"{node.sql(dialect=DIALECT)!r} is never true (a comparison with NULL is NULL); "
                            "use IS NULL / IS NOT NULL")
    for name in unknown:
        problems.append(f"unknown column {name!r} (not a documented column of marts.{PROFILE_MODEL})")
    if isinstance(tree, (exp.Literal, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.DPipe)) \
            and not isinstance(tree, exp.Boolean):
        problems.append(f"`when` must be a boolean condition, not the value {tree.sql(dialect=DIALECT)!r}")
    return tree, list(dict.fromkeys(problems))


# --------------------------------------------------------------------------- interval analysis


@dataclass(frozen=True)
class Interval:
    """A set of numbers (bounds inclusive or not); the column is also non-NULL."""

    lo: float = -math.inf
    lo_incl: bool = False
    hi: float = math.inf
    hi_incl: bool = False

    def intersect(self, other: "Interval") -> "Interval":
        if (other.lo, not other.lo_incl) > (self.lo, not self.lo_incl):
            lo, lo_incl = other.lo, other.lo_incl
        else:
            lo, lo_incl = self.lo, self.lo_incl
        if (other.hi, other.hi_incl) < (self.hi, self.hi_incl):
            hi, hi_incl = other.hi, other.hi_incl
        else:
            hi, hi_incl = self.hi, self.hi_incl
        return Interval(lo, lo_incl, hi, hi_incl)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_incl and self.hi_incl))

    def within(self, other: "Interval") -> bool:
        lo_ok = self.lo > other.lo or (self.lo == other.lo and (other.lo_incl or not self.lo_incl))
        hi_ok = self.hi < other.hi or (self.hi == other.hi and (other.hi_incl or not self.hi_incl))
        return lo_ok and hi_ok


def _interval(op: str, value: float) -> Interval:
    return {
        "=": Interval(value, True, value, True),
        ">": Interval(lo=value),
        ">=": Interval(lo=value, lo_incl=True),
        "<": Interval(hi=value),
        "<=": Interval(hi=value, hi_incl=True),
    }[op]


@dataclass
class Conjunction:
    """AND of: per-column intervals, columns that must be NULL, opaque atoms."""

    intervals: dict[str, Interval] = field(default_factory=dict)
    nulls: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    false: bool = False

    def add_interval(self, column: str, interval: Interval) -> None:
        self.intervals[column] = self.intervals.get(column, Interval()).intersect(interval)

    @property
    def never(self) -> bool:
        return self.false or any(i.empty for i in self.intervals.values()) or bool(self.nulls & self.intervals.keys())

    @property
    def always(self) -> bool:
        return not (self.false or self.intervals or self.nulls or self.opaque)

    def implies(self, other: "Conjunction") -> bool:
        """True when every row satisfying self satisfies other (sufficient test)."""
        if self.never:
            return True
        if other.false:
            return False
        for column, interval in other.intervals.items():
            mine = self.intervals.get(column)
            if mine is None or not mine.within(interval):
                return False
        return other.nulls <= self.nulls and other.opaque <= self.opaque


def _number(node: exp.Expression) -> float | None:
    if isinstance(node, exp.Literal) and not node.is_string:
        return float(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -float(node.this.this)
    return None


def _column(node: exp.Expression) -> str | None:
    return node.name.lower() if isinstance(node, exp.Column) and not node.table else None


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _add_atom(conj: Conjunction, atom: exp.Expression) -> None:
    atom = _unparen(atom)
    if isinstance(atom, exp.Boolean):
        conj.false = conj.false or not atom.this
        return
    if isinstance(atom, exp.Null):
        conj.false = True
        return
    if isinstance(atom, exp.And):
        _add_atom(conj, atom.left)
        _add_atom(conj, atom.right)
        return
    op = _COMPARISONS.get(type(atom))
    if op is not None:
        left, right = _unparen(atom.left), _unparen(atom.right)
        lnum, rnum = _number(left), _number(right)
        if lnum is not None and rnum is not None:
            holds = {"=": lnum == rnum, ">": lnum > rnum, ">=": lnum >= rnum, "<": lnum < rnum,
                     "<=": lnum <= rnum}[op]
            conj.false = conj.false or not holds
            return
        if _column(left) and rnum is not None:
            conj.add_interval(_column(left), _interval(op, rnum))
            return
        if _column(right) and lnum is not None:
            conj.add_interval(_column(right), _interval(_FLIPPED[op], lnum))
            return
    if isinstance(atom, exp.Between) and _column(_unparen(atom.this)):
        low, high = _number(_unparen(atom.args["low"])), _number(_unparen(atom.args["high"]))
        if low is not None and high is not None:
            conj.add_interval(_column(_unparen(atom.this)), Interval(low, True, high, True))
            return
    if isinstance(atom, exp.Is) and isinstance(atom.expression, exp.Null) and _column(_unparen(atom.this)):
        conj.nulls.add(_column(_unparen(atom.this)))
        return
    if isinstance(atom, exp.Not):
        inner = _unparen(atom.this)
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null) and _column(_unparen(inner.this)):
            conj.add_interval(_column(_unparen(inner.this)), Interval())
            return
        if isinstance(inner, exp.Boolean):
            conj.false = conj.false or bool(inner.this)
            return
    conj.opaque.add(atom.sql(dialect=DIALECT, normalize=True).lower())


def disjuncts(tree: exp.Expression) -> list[Conjunction]:
    """The condition as an OR of conjunctions (top-level ORs only)."""
    tree = _unparen(tree)
    if isinstance(tree, exp.Or):
        return disjuncts(tree.left) + disjuncts(tree.right)
    conj = Conjunction()
    _add_atom(conj, tree)
    return [conj]


def _implies(rule: list[Conjunction], earlier: list[Conjunction]) -> bool:
    return all(d.never or any(d.implies(e) for e in earlier) for d in rule)


# --------------------------------------------------------------------------- validation


def _field_problems(rule: Rule) -> list[str]:
    problems = []
    if "<not a mapping>" in rule.unknown_fields:
        return [rule.problem(f"each {rule.kind} must be a mapping with name, priority, description, when")]
    for key in RULE_FIELDS:
        value = getattr(rule, key)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(rule.problem(f"missing '{key}'"))
    for key in rule.unknown_fields:
        problems.append(rule.problem(f"unknown field '{key}' (expected: {', '.join(RULE_FIELDS)})"))
    if rule.name is not None and not (isinstance(rule.name, str) and NAME_PATTERN.match(rule.name)):
        problems.append(rule.problem(f"name {rule.name!r} must match {NAME_PATTERN.pattern} (lower_snake_case)",
                                     "name"))
    if rule.priority is not None and (isinstance(rule.priority, bool) or not isinstance(rule.priority, int)):
        problems.append(rule.problem(f"priority {rule.priority!r} must be an integer", "priority"))
    if rule.when is not None and not isinstance(rule.when, (str, bool)):
        problems.append(rule.problem(f"`when` must be a SQL expression string, not {rule.when!r}", "when"))
    return problems


def when_sql(rule: Rule) -> str:
    """The rule's condition as SQL text (YAML `true` / `false` unquoted become SQL booleans)."""
    if isinstance(rule.when, bool):
        return "true" if rule.when else "false"
    return str(rule.when)


def _sort_key(rule: Rule) -> tuple[int, int]:
    priority = rule.priority if isinstance(rule.priority, int) and not isinstance(rule.priority, bool) else 10**9
    return priority, rule.index


def validate_rules(rules: list[Rule], allowed_columns: set[str] | list[str], exclusive: bool = True) -> list[str]:
    """Every problem in ``rules``, each "<file>:<line>: rule '<name>': <message>"; empty when valid.

    ``exclusive``: the rules assign one primary segment by priority (segment
    rules): check shadowing and that a catch-all comes last. With
    ``exclusive=False`` (tags) every rule applies on its own: a rule that is
    always true is an error instead.
    """
    columns = {c.lower() for c in allowed_columns}
    problems: list[str] = []
    seen_names: dict[str, Rule] = {}
    seen_priorities: dict[int, Rule] = {}
    conditions: dict[int, list[Conjunction]] = {}
    for rule in rules:
        problems += _field_problems(rule)
        if isinstance(rule.name, str):
            if rule.name in seen_names:
                problems.append(rule.problem(
                    f"duplicate name (also line {seen_names[rule.name].where('name').split(':')[-1]})", "name"))
            else:
                seen_names[rule.name] = rule
        if isinstance(rule.priority, int) and not isinstance(rule.priority, bool):
            if rule.priority in seen_priorities:
                other = seen_priorities[rule.priority]
                problems.append(rule.problem(f"duplicate priority {rule.priority} (also {other.kind} {other.label}, "
                                             f"line {other.where('priority').split(':')[-1]})", "priority"))
            else:
                seen_priorities[rule.priority] = rule
        if isinstance(rule.when, (str, bool)) and when_sql(rule).strip():
            tree, sql_problems = check_expression(when_sql(rule), columns)
            problems += [rule.problem(p, "when") for p in sql_problems]
            if tree is not None and not sql_problems:
                conditions[rule.index] = disjuncts(tree)

    ordered = sorted((r for r in rules if r.index in conditions), key=_sort_key)
    if not exclusive:
        for rule in ordered:
            cond = conditions[rule.index]
            if all(d.never for d in cond):
                problems.append(rule.problem(
                    "can never match (its comparisons contradict each other or it is literally false)", "when"))
            elif any(d.always for d in cond):
                problems.append(rule.problem(
                    "applies to every customer (always true): a tag everyone has separates nobody", "when"))
        return problems
    for position, rule in enumerate(ordered):
        cond = conditions[rule.index]
        if all(d.never for d in cond):
            problems.append(rule.problem(
                "can never match (its comparisons contradict each other or it is literally false)", "when"))
            continue
        if any(d.always for d in cond) and position < len(ordered) - 1:
            hidden = ", ".join(r.label for r in ordered[position + 1:])
            problems.append(rule.problem(
                f"catch-all rule (always true) must have the highest priority number; rules after it can never "
                f"match: {hidden}", "when"))
        for earlier in ordered[:position]:
            earlier_cond = conditions[earlier.index]
            if all(d.never for d in earlier_cond):
                continue
            if _implies(cond, earlier_cond):
                if not any(d.always for d in earlier_cond):  # the catch-all is reported once, above
                    problems.append(rule.problem(
                        f"is fully shadowed by rule {earlier.label} (priority {earlier.priority}, line "
                        f"{earlier.where('when').split(':')[-1]}): everyone it matches is assigned there first",
                        "when"))
                break
    return problems


def check_rules(dbt_project_dir: Path, rules_file: Path | None = None) -> list[Rule]:
    """Load and validate the rules; the rules sorted by priority, or ConfigError listing every problem.

    ``rules_file`` defaults to ``<dbt_project_dir>/dbt_project.yml``; the
    allowed columns always come from the project's marts yml.
    """
    dbt_project_dir = Path(dbt_project_dir)
    path = Path(rules_file) if rules_file else dbt_project_dir / "dbt_project.yml"
    rules = load_rules(path)
    columns = profile_columns(dbt_project_dir)
    problems = validate_rules(rules, columns)
    # The tags live in the same file and are compiled by the same dbt run:
    # a broken tag fails the check as well.
    problems += validate_rules(load_rules(path, TAGS_KEY), columns, exclusive=False)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in segment rules ({path}):\n  " + "\n  ".join(problems))
    log.info("segment rules in %s are valid: %s", path, ", ".join(r.name for r in sorted(rules, key=_sort_key)))
    return sorted(rules, key=_sort_key)


def check_tags(dbt_project_dir: Path, rules_file: Path | None = None) -> list[Rule]:
    """Load and validate ``vars.segment_tags``; the tags sorted by priority (possibly none), or ConfigError."""
    dbt_project_dir = Path(dbt_project_dir)
    path = Path(rules_file) if rules_file else dbt_project_dir / "dbt_project.yml"
    tags = load_rules(path, TAGS_KEY)
    problems = validate_rules(tags, profile_columns(dbt_project_dir), exclusive=False)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in segment tags ({path}):\n  " + "\n  ".join(problems))
    return sorted(tags, key=_sort_key)


def sql_string(text: str) -> str:
    """A SQL string literal, quoted like the dbt macro's sql_string."""
    return "'" + text.replace("'", "''") + "'"


def compile_segment_case(rules: list[Rule]) -> str:
    """The CASE expression the dbt macro segment_case emits for ``segment``.

    First rule by priority whose `when` is true wins; its name is the segment;
    NULL when no rule matches. The `when` text is pasted as written, like the macro.
    """
    ordered = sorted(rules, key=_sort_key)
    whens = "".join(f"\n    when ({when_sql(r)}) then {sql_string(str(r.name))}" for r in ordered)
    return f"case{whens}\nend"
