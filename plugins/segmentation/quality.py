"""Great Expectations quality gates: ``raw`` (one load batch) and ``marts``.

Suites are reviewed JSON files in ``expectations/suites/`` (GE's own suite
format, one per table, ``meta.gate`` / ``meta.table`` say what they guard).
Value sets and column lists are suite parameters filled from
``segmentation.contracts`` and the segment rules in ``dbt_project.yml``, so
the contracts stay the one source of truth.

Metrics are computed by DuckDB SQL through GE's SQL execution engine
(``segmentation.quality_engine``): a batch is never pulled into pandas, so
a gate over millions of rows needs only DuckDB's bounded working memory.
See docs/quality.md.

Every run appends one row per expectation to ``meta.quality_results`` and
rebuilds Data Docs under ``<reports>/data_docs``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from segmentation.config import Settings
from segmentation.inprocess import release_inprocess_dbt
from segmentation.contracts import BOOL_ACCEPTED, LOAD_METADATA_COLUMNS, SOURCES
from segmentation.errors import ConfigError, QualityGateFailed

log = logging.getLogger(__name__)

GATES = ("raw", "marts")
RAW_TABLES = tuple(f"raw.{s.table}" for s in SOURCES.values())
DATA_DOCS_SITE = "segments"
TIMESTAMP_REGEX = (
    r"^\s*[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]+)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?\s*$"
)

RESULTS_DDL = """
create table if not exists meta.quality_results (
    run_id varchar not null,
    gate varchar not null,
    suite varchar not null,
    table_name varchar not null,
    expectation_type varchar not null,
    column_name varchar,
    success boolean not null,
    observed_value varchar,
    unexpected_count bigint,
    batch_id varchar,
    validated_at timestamp not null
)
"""


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation on one table."""

    suite: str
    table_name: str
    expectation_type: str
    column: str | None
    success: bool
    observed_value: str | None = None
    unexpected_count: int | None = None
    detail: str = ""  # exception or sample of unexpected values, for people

    def describe(self) -> str:
        where = self.table_name + (f".{self.column}" if self.column else "")
        text = f"{where}: {self.expectation_type}"
        facts = []
        if self.unexpected_count:
            facts.append(f"{self.unexpected_count} unexpected")
        if self.observed_value is not None and not self.unexpected_count:
            facts.append(f"observed {self.observed_value}")
        if self.detail:
            facts.append(self.detail)
        return text + (f" ({'; '.join(facts)})" if facts else "")


@dataclass
class SuiteOutcome:
    suite: str
    table_name: str
    batch_id: str | None
    expectations: list[ExpectationOutcome] = field(default_factory=list)
    skipped: str | None = None  # why the suite did not run (e.g. no rows in the batch)

    @property
    def success(self) -> bool:
        return all(e.success for e in self.expectations)


@dataclass
class GateResult:
    gate: str
    run_id: str
    batch_id: str | None
    suites: list[SuiteOutcome] = field(default_factory=list)
    data_docs_index: Path | None = None

    @property
    def success(self) -> bool:
        return all(s.success for s in self.suites)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [e for s in self.suites for e in s.expectations if not e.success]

    @property
    def expectations(self) -> list[ExpectationOutcome]:
        return [e for s in self.suites for e in s.expectations]

    def summary(self) -> str:
        head = f"quality gate {self.gate!r} (run {self.run_id}"
        head += f", batch {self.batch_id})" if self.batch_id else ")"
        checked = len(self.expectations)
        lines = [f"{head}: {'PASSED' if self.success else 'FAILED'}, "
                 f"{checked - len(self.failures)}/{checked} expectations met"]
        for s in self.suites:
            if s.skipped:
                lines.append(f"  skipped {s.table_name}: {s.skipped}")
        lines.extend(f"  failed {f.describe()}" for f in self.failures)
        if self.data_docs_index:
            lines.append(f"  data docs: {self.data_docs_index}")
        return "\n".join(lines)

    def failure_message(self) -> str:
        failed = "; ".join(f.describe() for f in self.failures)
        return f"quality gate {self.gate!r} failed (run {self.run_id}): {failed}"


# ---------------------------------------------------------------- suites

@dataclass(frozen=True)
class SuiteFile:
    name: str
    gate: str
    table: str
    path: Path
    body: dict[str, Any]


def load_suites(expectations_dir: Path, gate: str) -> list[SuiteFile]:
    """The reviewed suite files of one gate, in name order."""
    suites_dir = expectations_dir / "suites"
    if not suites_dir.is_dir():
        raise ConfigError(f"{suites_dir}: no suites directory [rule: suites_present]")
    found = []
    for path in sorted(suites_dir.glob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}, line {exc.lineno}: invalid JSON: {exc.msg} [rule: suite_json]") from exc
        meta = body.get("meta") or {}
        for key in ("gate", "table"):
            if not meta.get(key):
                raise ConfigError(f"{path}: meta.{key} missing [rule: suite_meta]")
        if body.get("name") != path.stem:
            raise ConfigError(f"{path}: name {body.get('name')!r} must equal the file name {path.stem!r} [rule: suite_name]")
        if meta["gate"] == gate:
            found.append(SuiteFile(path.stem, gate, meta["table"], path, body))
    if not found:
        raise ConfigError(f"{suites_dir}: no suite with meta.gate {gate!r} [rule: suites_present]")
    return found


def segment_names(dbt_project: Path) -> list[str]:
    """Rule names from vars.segment_rules in dbt_project.yml (the product definition)."""
    import yaml

    path = dbt_project / "dbt_project.yml"
    try:
        rules = (yaml.safe_load(path.read_text(encoding="utf-8")).get("vars") or {}).get("segment_rules") or []
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read segment rules: {exc} [rule: segment_rules_present]") from exc
    names = [str(r.get("name")) for r in rules if isinstance(r, dict) and r.get("name")]
    if not names:
        raise ConfigError(f"{path}: vars.segment_rules has no named rule [rule: segment_rules_present]")
    return names


def suite_parameters(settings: Settings, gate: str) -> dict[str, Any]:
    """Values the suites reference as ``{"$PARAMETER": name}``."""
    params: dict[str, Any] = {
        "timestamp_regex": TIMESTAMP_REGEX,
        "bool_regex": "^\\s*((?i)" + "|".join(v for v in BOOL_ACCEPTED if v) + ")?\\s*$",
    }
    for source in SOURCES.values():
        params[f"columns_{source.table}"] = source.column_names + [c[0] for c in LOAD_METADATA_COLUMNS]
        for col in source.columns:
            if col.kind == "enum":
                params[f"accepted_{source.table}_{col.name}"] = list(col.accepted)
    if gate == "marts":
        params["segment_names"] = segment_names(settings.dbt_project)
    return params


# ---------------------------------------------------------------- warehouse

DEFAULT_MEMORY_LIMIT = "512MB"  # DuckDB working memory of a gate; it spills beyond


def _memory_limit() -> str:
    return os.environ.get("SEGMENTS_GATE_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.partition(".")
    return schema, name


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
    ).fetchall()
    return {r[0] for r in rows}


def latest_batch_id(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    """The _batch_id loaded last across the raw tables (None if nothing is loaded)."""
    parts = [f"select _batch_id, max(_loaded_at) as loaded_at from {t} group by _batch_id"
             for t in RAW_TABLES if t in tables]
    if not parts:
        return None
    row = con.execute(
        "select _batch_id from (" + " union all ".join(parts) + ") "
        "where _batch_id is not null order by loaded_at desc, _batch_id desc limit 1"
    ).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Target:
    """What one suite validates: a table, or the rows of one batch of it."""

    suite: SuiteFile
    query: str  # the rows to validate
    skipped: str | None = None


def _plan(settings: Settings, gate: str, batch_id: str | None,
          suites: list[SuiteFile]) -> tuple[str | None, list[Target]]:
    if not settings.warehouse.exists():
        raise QualityGateFailed(f"{settings.warehouse}: warehouse does not exist; nothing to validate "
                                f"[rule: gate_{gate}_warehouse_present]")
    con = duckdb.connect(str(settings.warehouse))
    try:
        tables = _existing_tables(con)
        targets: list[Target] = []
        if gate == "marts":
            for s in suites:
                schema, name = _split(s.table)
                # a query asset, not a table asset: GE's row_condition drops a table asset's schema
                targets.append(Target(s, f"select * from {_quote(schema)}.{_quote(name)}",
                                      None if s.table in tables else "table does not exist"))
            return None, targets
        batch_id = batch_id or latest_batch_id(con, tables)
        for s in suites:
            if s.table not in tables:
                targets.append(Target(s, "", "table does not exist"))
                continue
            schema, name = _split(s.table)
            table_sql = f"{_quote(schema)}.{_quote(name)}"
            where = f"_batch_id = {_lit(batch_id)}" if batch_id else "false"
            count = con.execute(f"select count(*) from {table_sql} where {where}").fetchone()[0]
            if count == 0:
                targets.append(Target(s, "", f"no rows in batch {batch_id}"))
            else:
                targets.append(Target(s, f"select * from {table_sql} where {where}"))
        return batch_id, targets
    finally:
        con.close()


# ---------------------------------------------------------------- validation

def _observed_text(result: dict[str, Any]) -> str | None:
    if "observed_value" in result:
        value = result["observed_value"]
        return value if isinstance(value, str) else json.dumps(value, default=str)
    if "unexpected_count" in result:
        return f"{result.get('unexpected_count')} unexpected of {result.get('element_count')} rows"
    return None


def _column_of(config: Any) -> str | None:
    kwargs = config.kwargs or {}
    if kwargs.get("column"):
        return str(kwargs["column"])
    if isinstance(kwargs.get("column_list"), list):
        return ",".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']},{kwargs.get('column_B')}"
    named = (config.meta or {}).get("column")  # e.g. an unexpected_rows_expectation's key columns
    return str(named) if named else None


def _outcome(suite: SuiteFile, r: Any) -> ExpectationOutcome:
    config = r.expectation_config
    result = r.result or {}
    detail = ""
    message = _exception_message(r.exception_info)
    if message is not None:
        detail = "error: " + (message.splitlines()[0][:300] if message else "exception")
    elif not r.success:
        sample = result.get("partial_unexpected_list") or []
        if sample:
            detail = "e.g. " + json.dumps(sample[:5], default=str)
        elif config.type == "expect_table_columns_to_match_set":
            detail = "missing " + json.dumps(_missing_columns(config, result))
        segment = (config.meta or {}).get("segment")
        if segment:
            detail = (detail + "; " if detail else "") + f"segment {segment}"
    unexpected = result.get("unexpected_count")
    if config.type == "unexpected_rows_expectation":
        unexpected = result.get("observed_value")
        rows = (result.get("details") or {}).get("unexpected_rows") or []
        if rows and not r.success and not detail:
            detail = "e.g. " + json.dumps(rows[:3], default=str)
    return ExpectationOutcome(
        suite=suite.name, table_name=suite.table, expectation_type=config.type,
        column=_column_of(config), success=bool(r.success), observed_value=_observed_text(result),
        unexpected_count=int(unexpected) if unexpected is not None else None, detail=detail,
    )


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """The first exception GE caught for an expectation (flat or keyed by metric), else None."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception") or entry.get("exception_message"):
            return str(entry.get("exception_message") or "")
    return None


def _missing_columns(config: Any, result: dict[str, Any]) -> list[str]:
    details = (result.get("details") or {}).get("mismatched") or {}
    missing = details.get("missing")
    if missing is not None:
        return list(missing)
    wanted = config.kwargs.get("column_set") or []
    return [c for c in wanted if c not in (result.get("observed_value") or [])]


def _context(settings: Settings) -> Any:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(
        site_name=DATA_DOCS_SITE,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(data_docs_dir(settings))},
        },
    )
    return context


def data_docs_dir(settings: Settings) -> Path:
    return settings.reports / "data_docs"


# A gate validates twice only when something failed. The first pass counts
# (GE's BASIC without example values): for every regex or set expectation GE
# would otherwise also fetch up to 5 offending values, a scan that finds
# nothing when the batch is clean (2.5 s for event_ts alone at `large`; the
# raw gate on the 45.5M-row first load took 20.0 s with examples, 15.4 s
# counting, bench/RESULTS.md session 10). A failed gate runs again with
# examples, so its message and Data Docs show the bad values.
COUNTING_PASS = {"result_format": "BASIC", "partial_unexpected_count": 0}
EXAMPLES_PASS = {"result_format": "SUMMARY", "partial_unexpected_count": 5}


def _validate(settings: Settings, gate: str, run_id: str, targets: list[Target],
              params: dict[str, Any]) -> tuple[dict[str, list[ExpectationOutcome]], Path | None]:
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier

    from segmentation import quality_engine  # noqa: F401  (registers the segments_duckdb datasource)

    runnable = [t for t in targets if t.skipped is None]
    if not runnable:
        return {}, None
    release_inprocess_dbt()
    context = _context(settings)
    datasource = context.data_sources.add_segments_duckdb(
        name="warehouse",
        connection_string=f"duckdb:///{settings.warehouse}",
        kwargs={"connect_args": {"config": {"memory_limit": _memory_limit()}}},
    )
    try:
        definitions = []
        for t in runnable:
            asset = datasource.add_query_asset(name=t.suite.name, query=t.query)
            batch = asset.add_batch_definition_whole_table("batch")
            suite = context.suites.add(_expectation_suite(t.suite))
            definitions.append(context.validation_definitions.add(
                gx.ValidationDefinition(name=t.suite.name, data=batch, suite=suite)))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"gate_{gate}", validation_definitions=definitions,
            actions=[UpdateDataDocsAction(name="data_docs", site_names=[DATA_DOCS_SITE])],
            result_format=COUNTING_PASS,
        ))
        result = checkpoint.run(expectation_parameters=params,
                                run_id=RunIdentifier(run_name=f"{gate}-{run_id}"))
        if not result.success:
            # examples of the bad values, for the failure message and Data Docs
            checkpoint.result_format = EXAMPLES_PASS
            checkpoint.save()  # GE refuses to run a checkpoint changed since it was saved
            result = checkpoint.run(expectation_parameters=params,
                                    run_id=RunIdentifier(run_name=f"{gate}-{run_id}"))
    finally:
        datasource.close()
    by_suite = {t.suite.name: t.suite for t in runnable}
    outcomes: dict[str, list[ExpectationOutcome]] = {}
    for validation in result.run_results.values():
        name = validation.suite_name
        outcomes[name] = [_outcome(by_suite[name], r) for r in validation.results]
    index = data_docs_dir(settings) / "index.html"
    return outcomes, index if index.exists() else None


def _expectation_suite(suite: SuiteFile) -> Any:
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    try:
        expectations = [ExpectationConfiguration(type=e["type"], kwargs=e.get("kwargs") or {},
                                                  meta=e.get("meta") or {}).to_domain_obj()
                        for e in suite.body.get("expectations") or []]
    except Exception as exc:  # GE raises several types for a bad expectation
        raise ConfigError(f"{suite.path}: invalid expectation: {exc} [rule: suite_expectation]") from exc
    return gx.ExpectationSuite(name=suite.name, expectations=expectations, meta=suite.body.get("meta") or {})


# ---------------------------------------------------------------- history

def record_results(settings: Settings, result: GateResult, validated_at: datetime) -> int:
    """Append one row per expectation to meta.quality_results; returns the row count."""
    rows = [(result.run_id, result.gate, e.suite, e.table_name, e.expectation_type, e.column,
             e.success, e.observed_value, e.unexpected_count, result.batch_id, validated_at)
            for e in result.expectations]
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("create schema if not exists meta")
        con.execute(RESULTS_DDL)
        if rows:
            con.executemany("insert into meta.quality_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        con.close()
    return len(rows)


# ---------------------------------------------------------------- entry point

def run_gate(settings: Settings, gate: str, run_id: str, batch_id: str | None = None,
             raise_on_failure: bool = False) -> GateResult:
    """Validate the raw batch or the marts; record the results; build Data Docs."""
    if gate not in GATES:
        raise ConfigError(f"unknown quality gate {gate!r}; expected one of {', '.join(GATES)} [rule: gate_name]")
    suites = load_suites(settings.expectations, gate)
    params = suite_parameters(settings, gate)
    batch_id, targets = _plan(settings, gate, batch_id, suites)
    log.info("quality gate %s: run %s, batch %s, %d suites", gate, run_id, batch_id, len(targets))
    settings.reports.mkdir(parents=True, exist_ok=True)
    validated_at = datetime.now(timezone.utc).replace(tzinfo=None)
    outcomes, index = _validate(settings, gate, run_id, targets, params)

    result = GateResult(gate=gate, run_id=run_id, batch_id=batch_id, data_docs_index=index)
    for t in targets:
        suite = SuiteOutcome(t.suite.name, t.suite.table, batch_id, skipped=t.skipped)
        if t.skipped is None:
            suite.expectations = outcomes.get(t.suite.name, [])
        elif gate == "marts":  # a missing mart is a failure, not a skip
            suite.skipped = None
            suite.expectations = [ExpectationOutcome(t.suite.name, t.suite.table, "expect_table_to_exist",
                                                     None, False, detail=t.skipped)]
        result.suites.append(suite)
    record_results(settings, result, validated_at)
    log.info("%s", result.summary())
    if raise_on_failure and not result.success:
        raise QualityGateFailed(result.failure_message())
    return result

