"""Incremental dbt runs give the same warehouse as a full refresh on the same raw data.

Scenario (tiny data, seed 7): load the delivered extracts and build; then a new
day arrives (segmentation.delta: ~1% new events and orders, some of them late,
i.e. dated weeks back, events and order lines delivered again with changes,
CRM updates of which one merges two customers); load it and build
incrementally. A copy of that warehouse is rebuilt with --full-refresh. Every
table dbt builds must hold the same rows in both (EXCEPT ALL, both ways).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dbt_helpers import (AS_OF, CRM_ROWS, DBT_PROJECT, EVENT_ROWS, HANDMADE_ROWS, REPO_ROOT, DbtRun, create_raw_tables,
                         run_dbt)

pytestmark = pytest.mark.slow

SCHEMAS = ("staging", "intermediate", "restricted", "marts")
# Columns of the stateful models (full_refresh: false: the customer key
# registry and its change log) that describe the build itself: when and in
# which dbt invocation a key was assigned or a change recorded, and the key a
# row had before that build. They necessarily differ between two builds; the
# keys themselves (customer_key, component, anchor, basis) must be equal.
AUDIT_TIME_COLUMNS = {"first_assigned_at", "assigned_at", "recorded_at", "dbt_invocation_id",
                      "previous_customer_key"}
INCREMENTAL_MODELS = ("stg_events__web_events", "stg_orders__order_lines", "int_web_sessions",
                      "int_web_session_identifiers", "int_email_engagement_daily", "int_orders",
                      "int_consent_observations")
# incremental by fingerprint (macros/incremental/fingerprints.sql): they rebuild
# the partitions whose input fingerprint changed, not the rows loaded after a watermark
FINGERPRINT_MODELS = ("stg_crm__customers", "customer_pii")


@dataclass(frozen=True)
class IncrementalScenario:
    incremental: DbtRun
    full_refresh: DbtRun
    new_rows: dict[str, int]
    run_results: dict[str, dict]
    target: Path


def _load(home: Path, batch_id: str) -> None:
    from segmentation.config import Settings
    from segmentation.loading import load_new_files

    settings = replace(Settings.from_env(), home=home, landing=home / "landing", quarantine=home / "quarantine",
                       warehouse=home / "warehouse.duckdb", serving=home / "serving.duckdb",
                       reports=home / "reports", dbt_project=DBT_PROJECT, expectations=REPO_ROOT / "expectations")
    settings.ensure_dirs()
    report = load_new_files(settings, batch_id=batch_id, settle_seconds=0)
    assert report.rows_loaded > 0 and not report.quarantined, report.summary()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, tiny_sample: Path) -> IncrementalScenario:
    from segmentation.delta import write_new_day

    work = tmp_path_factory.mktemp("dbt_incremental")
    home = work / "home"
    shutil.copytree(tiny_sample / "landing", home / "landing")
    warehouse = home / "warehouse.duckdb"

    _load(home, "day-0")
    first = run_dbt("build", warehouse, work / "first")
    assert first.ok, first.stdout[-3000:]

    new_day = write_new_day(home / "landing", date.fromisoformat(AS_OF))
    _load(home, "day-1")
    incremental = run_dbt("build", warehouse, work / "incremental")
    results = json.loads((work / "incremental" / "target" / "run_results.json").read_text())
    by_model = {r["unique_id"].split(".")[-1]: r for r in results["results"] if r["unique_id"].startswith("model.")}

    copy = work / "full" / "warehouse.duckdb"
    copy.parent.mkdir(parents=True)
    shutil.copy(warehouse, copy)
    full = run_dbt("build", copy, work / "full", extra=["--full-refresh"])
    return IncrementalScenario(incremental, full, new_day.rows, by_model, work / "incremental" / "target")


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_type = 'BASE TABLE' and table_schema in {SCHEMAS} order by 1, 2").fetchall()


def test_incremental_build_passes_its_tests(scenario: IncrementalScenario) -> None:
    assert scenario.incremental.ok, scenario.incremental.stdout[-4000:]
    assert scenario.full_refresh.ok, scenario.full_refresh.stdout[-4000:]


def test_new_day_is_about_one_percent_of_the_events(scenario: IncrementalScenario) -> None:
    with scenario.incremental.connect() as con:
        total = con.execute("select count(*) from raw.web_events").fetchone()[0]
    assert 0.005 * total < scenario.new_rows["events"] < 0.02 * total


def _merged_incrementally(target: Path, model: str) -> str:
    """The model's compiled select, after checking its run was a delete+insert into the existing table."""
    run_sql = _model_sql(target / "run", model)
    assert "delete from" in run_sql and "insert into" in run_sql and "create table" not in run_sql, model
    return _model_sql(target / "compiled", model)


def test_incremental_models_merge_only_rows_loaded_since_their_last_build(scenario: IncrementalScenario) -> None:
    for model in INCREMENTAL_MODELS:
        # the select reads only what was loaded after the newest _loaded_at the model holds
        assert "_loaded_at > (select coalesce(max(" in _merged_incrementally(scenario.target, model), model


def test_fingerprint_models_merge_only_partitions_whose_fingerprint_changed(scenario: IncrementalScenario) -> None:
    for model in FINGERPRINT_MODELS:
        # the stored fingerprints are read and compared (not the whole model recomputed)
        compiled = _merged_incrementally(scenario.target, model)
        assert "full outer join" in compiled and "stored_partitions" in compiled, model


def test_a_crm_record_is_normalised_again_only_when_its_raw_rows_change(tmp_path: Path) -> None:
    # stg_crm__customers rebuilds a record when its raw rows change: a new version
    # (CRM-0000003), an erased record (CRM-0000004: deleted from raw, deleted here,
    # as a full rebuild would), a raw value redacted in place (CRM-0000010, as an
    # erasure does to a mention in another record). A record whose raw rows did not
    # change is not read again: CRM-0000002, tampered with in the table, keeps the
    # tampered value.
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_tables(warehouse, HANDMADE_ROWS)
    build = ["--select", "country_codes", "country_calling_codes", "stg_crm__customers"]
    first = run_dbt("build", warehouse, tmp_path / "first", extra=build)
    assert first.ok, first.stdout[-3000:]
    rows = {row["crm_id"]: row for row in CRM_ROWS}
    new_version = {**rows["CRM-0000003"], "city": "Bremen", "updated_at": "2026-11-01T00:00:00Z",
                   "_file_name": "crm_customers_2026-11-26_part0001.csv", "_loaded_at": datetime(2026, 11, 26, 6)}
    create_raw_tables(warehouse, {"crm": [new_version]}, batch_id="2026-11-26")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from raw.crm_customers where crm_id = 'CRM-0000004'")
        con.execute("update raw.crm_customers set first_name = '[redacted]' where crm_id = 'CRM-0000010'")
        con.execute("update staging.stg_crm__customers set city = 'tampered' where crm_id = 'CRM-0000002'")
    incremental = run_dbt("build", warehouse, tmp_path / "incremental", extra=build)
    assert incremental.ok, incremental.stdout[-3000:]
    with duckdb.connect(str(warehouse)) as con:
        cities = dict(con.execute("select crm_id, city from staging.stg_crm__customers").fetchall())
        assert cities["CRM-0000003"] == "Bremen" and "CRM-0000004" not in cities
        assert cities["CRM-0000002"] == "tampered"
        assert con.execute("select first_name from staging.stg_crm__customers "
                           "where crm_id = 'CRM-0000010'").fetchone()[0] != "Test"
        assert con.execute("select record_versions from staging.stg_crm__customers "
                           "where crm_id = 'CRM-0000003'").fetchone()[0] == 2
        con.execute("update staging.stg_crm__customers set city = null where crm_id = 'CRM-0000002'")
    _assert_equals_a_full_refresh_copy(warehouse, tmp_path, ("stg_crm__customers",))


def test_a_birth_date_is_judged_again_when_the_as_of_date_moves_across_it(tmp_path: Path) -> None:
    # A birth date after the as-of date is rejected (parse_birth_date). No raw row
    # changes here, only the as-of date: a record rejected while its birth date was
    # ahead is valid once the date has passed it, and a backfill to an earlier date
    # rejects it again, as a full rebuild on that date would.
    warehouse = tmp_path / "warehouse.duckdb"
    born = {**CRM_ROWS[0], "crm_id": "CRM-0000077", "email": "born.late@example.com", "birth_date": "2026-11-26"}
    create_raw_tables(warehouse, {**HANDMADE_ROWS, "crm": [*HANDMADE_ROWS["crm"], born]})
    build = ["--select", "country_codes", "country_calling_codes", "stg_crm__customers"]

    def birth_date(as_of: str, name: str):
        run = run_dbt("build", warehouse, tmp_path / name, as_of=as_of, extra=build)
        assert run.ok, run.stdout[-3000:]
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute("select birth_date, birth_date_is_invalid from staging.stg_crm__customers "
                               "where crm_id = 'CRM-0000077'").fetchone()

    assert birth_date("2026-11-25", "first") == (None, True)
    assert birth_date("2026-11-27", "passed") == (date(2026, 11, 26), False)
    _assert_equals_a_full_refresh_copy(warehouse, tmp_path, ("stg_crm__customers",), as_of="2026-11-27",
                                       name="full_passed")
    assert birth_date("2026-11-20", "backfill") == (None, True)
    _assert_equals_a_full_refresh_copy(warehouse, tmp_path, ("stg_crm__customers",), as_of="2026-11-20",
                                       name="full_backfill")


def _model_sql(root: Path, model: str) -> str:
    """The model's own SQL file (unit tests compile fixtures named after the models they mock)."""
    for path in root.glob(f"segments/models/**/{model}.sql"):
        text = path.read_text().lower()
        if not text.lstrip().startswith("-- fixture for"):
            return text
    raise AssertionError(f"no compiled SQL for {model} under {root}")


def _compared_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    columns = [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_catalog = 'inc' "
        "and table_schema = ? and table_name = ? order by ordinal_position", [schema, table]).fetchall()]
    return ", ".join(f'"{c}"' for c in columns if c not in AUDIT_TIME_COLUMNS)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_table_equals_a_full_refresh(scenario: IncrementalScenario, schema: str) -> None:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{scenario.incremental.warehouse}' as inc (read_only)")
        con.execute(f"attach '{scenario.full_refresh.warehouse}' as ful (read_only)")
        inc_tables = [t for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_catalog = 'inc' and table_type = 'BASE TABLE' and table_schema = '{schema}'").fetchall()]
        ful_tables = [t for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_catalog = 'ful' and table_type = 'BASE TABLE' and table_schema = '{schema}'").fetchall()]
        assert sorted(inc_tables) == sorted(ful_tables)
        assert inc_tables, f"no tables in {schema}"
        differences = {}
        for table in inc_tables:
            cols = _compared_columns(con, schema, table)
            only_inc = con.execute(f"select count(*) from (select {cols} from inc.{schema}.{table} "
                                   f"except all select {cols} from ful.{schema}.{table})").fetchone()[0]
            only_full = con.execute(f"select count(*) from (select {cols} from ful.{schema}.{table} "
                                    f"except all select {cols} from inc.{schema}.{table})").fetchone()[0]
            if only_inc or only_full:
                differences[table] = (only_inc, only_full)
        assert not differences, f"rows only in incremental / only in full refresh: {differences}"
    finally:
        con.close()


def test_new_day_changes_the_marts(scenario: IncrementalScenario) -> None:
    # the comparison above is only meaningful if the new day reached the marts
    with scenario.incremental.connect() as con:
        late_or_new = con.execute(
            "select count(*) from intermediate.int_orders where order_id like '%-20261125'").fetchone()[0]
        merged = con.execute(
            "select count(*) from staging.stg_crm__customers where city = 'Neustadt'").fetchone()[0]
        refunded = con.execute("select count(*) from staging.stg_orders__order_lines "
                               "where _file_name like 'order_lines_2026-11-25%' and status = 'refunded' "
                               "and order_id not like '%-20261125'").fetchone()[0]
    assert late_or_new > 0 and merged > 0 and refunded > 0


SESSION_MODELS = ("stg_events__web_events", "int_web_sessions", "int_web_session_identifiers")


def test_session_models_that_missed_a_staging_run_recompute_the_session_they_saw(tmp_path: Path) -> None:
    # touched_session_ids finds the session a re-delivered event left from the staged
    # previous_session_id. When the session models missed a staging run, that is not the
    # session they saw: here e1 (a consented page view of s1) comes again in s2 and is
    # staged alone, then again in s9; the session models then run once. Only the raw
    # branch of touched_session_ids (compiled in only when such events exist) names s1.
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_tables(warehouse, HANDMADE_ROWS)
    first = run_dbt("run", warehouse, tmp_path / "first", extra=["--select", *SESSION_MODELS])
    assert first.ok, first.stdout[-3000:]

    e1 = next(row for row in EVENT_ROWS if row["event_id"] == "e1")

    def deliver_e1_again(session: str, day: int) -> None:
        create_raw_tables(warehouse, {"events": [{**e1, "session_id": session, "_loaded_at": datetime(2026, 11, day, 6),
                                                  "_file_name": f"web_events_2026-11-{day}_part0001.jsonl"}]},
                          batch_id=f"2026-11-{day}")

    deliver_e1_again("s2", 26)
    staged = run_dbt("run", warehouse, tmp_path / "staged", extra=["--select", "stg_events__web_events"])
    assert staged.ok, staged.stdout[-3000:]
    deliver_e1_again("s9", 27)
    caught_up = run_dbt("run", warehouse, tmp_path / "caught_up", extra=["--select", *SESSION_MODELS])
    assert caught_up.ok, caught_up.stdout[-3000:]

    _assert_equals_a_full_refresh_copy(warehouse, tmp_path, SESSION_MODELS)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select session_id, page_views from intermediate.int_web_sessions "
                           "where session_id in ('s1', 's2', 's9') order by 1").fetchall() == [
            ("s1", 0), ("s2", 1), ("s9", 2)]
    assert "delivered_again" in _model_sql(tmp_path / "caught_up" / "target" / "compiled", "int_web_sessions")

    # a normal day (the session models up to date): the raw branch is left out
    deliver_e1_again("s3", 28)
    normal = run_dbt("run", warehouse, tmp_path / "normal", extra=["--select", *SESSION_MODELS])
    assert normal.ok, normal.stdout[-3000:]
    assert "delivered_again" not in _model_sql(tmp_path / "normal" / "target" / "compiled", "int_web_sessions")


def test_a_session_or_day_whose_events_all_left_is_deleted(tmp_path: Path) -> None:
    # delete+insert replaces only the keys it writes: a session (or email day) whose
    # events all moved elsewhere gets no new row, so the models write a placeholder
    # that deletes the old one (and their post-hook drops the placeholder). e4 is
    # the only event of s9; e5 and e6 the only email events of 2026-11-10.
    models = (*SESSION_MODELS, "int_email_engagement_daily")
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_tables(warehouse, HANDMADE_ROWS)
    first = run_dbt("run", warehouse, tmp_path / "first", extra=["--select", *models])
    assert first.ok, first.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from intermediate.int_web_sessions where session_id = 's9'").fetchone()[0] == 1
        assert con.execute("select count(*) from intermediate.int_email_engagement_daily "
                           "where event_date = date '2026-11-10'").fetchone()[0] == 1

    moved = {"_loaded_at": datetime(2026, 11, 26, 6), "_file_name": "web_events_2026-11-26_part0001.jsonl"}
    rows = {row["event_id"]: row for row in EVENT_ROWS}
    create_raw_tables(warehouse, {"events": [
        {**rows["e4"], "session_id": "s4", **moved},
        {**rows["e5"], "event_ts": "2026-11-12T07:00:00Z", **moved},
        {**rows["e6"], "event_ts": "2026-11-12T07:05:00Z", **moved},
    ]}, batch_id="2026-11-26")
    incremental = run_dbt("run", warehouse, tmp_path / "incremental", extra=["--select", *models])
    assert incremental.ok, incremental.stdout[-3000:]

    _assert_equals_a_full_refresh_copy(warehouse, tmp_path, models)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from intermediate.int_web_sessions "
                           "where session_id = 's9' or _max_loaded_at is null").fetchone()[0] == 0
        assert con.execute("select count(*) from intermediate.int_web_session_identifiers "
                           "where session_id = 's9' or _max_loaded_at is null").fetchone()[0] == 0
        assert con.execute("select event_date from intermediate.int_email_engagement_daily "
                           "order by 1").fetchall() == [(date(2026, 11, 12),)]


def _assert_equals_a_full_refresh_copy(warehouse: Path, tmp_path: Path, models: tuple[str, ...],
                                       as_of: str = AS_OF, name: str = "full") -> None:
    """Rebuild `models` with --full-refresh on a copy of `warehouse`: every one of them holds the same rows."""
    copy = tmp_path / name / "warehouse.duckdb"
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    full = run_dbt("run", copy, tmp_path / name, as_of=as_of, extra=["--full-refresh", "--select", *models])
    assert full.ok, full.stdout[-3000:]
    schemas = {"stg": "staging", "int": "intermediate"}
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as inc (read_only)")
        con.execute(f"attach '{copy}' as ful (read_only)")
        for model in models:
            table = f"{schemas[model.split('_')[0]]}.{model}"
            for a, b in (("inc", "ful"), ("ful", "inc")):
                only = con.execute(f"select count(*) from (select * from {a}.{table} "
                                   f"except all select * from {b}.{table})").fetchone()[0]
                assert only == 0, f"{table}: {only} rows only in {a}"
