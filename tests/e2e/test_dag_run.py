"""One real run of the customer_segments DAG (dag.test) on tiny generated data.

The first run must publish segments that agree with the generator's ground
truth; a second run fed a corrupted raw batch must fail at the raw gate and
leave the published serving database byte for byte as it was.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from segmentation.contracts import CRM

pytestmark = pytest.mark.slow

FIRST_DAY = "2026-11-25"
NEXT_DAY = "2026-11-26"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pipeline_home(tmp_path_factory, tiny_sample, airflow_db, dbt_manifest):
    """A data home with the tiny sample landed, and the environment pointing at it."""
    home = tmp_path_factory.mktemp("pipeline-home")
    shutil.copytree(tiny_sample / "landing", home / "landing")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGMENTS_HOME", str(home))
        mp.setenv("SEGMENTS_WAREHOUSE", str(home / "warehouse" / "warehouse.duckdb"))
        mp.delenv("SEGMENTS_SERVING", raising=False)
        mp.setenv("SEGMENTS_SETTLE_SECONDS", "0")
        yield home


@pytest.fixture(scope="module")
def first_run(pipeline_home):
    from segmentation.airflow_setup import test_dag_run

    dag_run = test_dag_run("customer_segments", FIRST_DAY)
    return pipeline_home, dag_run


def _customer_key_by_person(warehouse: Path, persons: list[dict]) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select identifier_type, identifier_value, customer_key from restricted.customer_identifiers"
        ).fetchall()
    finally:
        con.close()
    by_identifier = {(t, v): k for t, v, k in rows}
    keys = {}
    for p in persons:
        key = by_identifier.get(("crm", p["primary_crm_id"])) if p["primary_crm_id"] else None
        if key is None:
            for email in p["emails"].split(";"):
                key = key or by_identifier.get(("email", email.strip().lower()))
        if key:
            keys[p["person_id"]] = key
    return keys


def test_daily_run_publishes_segments_matching_the_generators_ground_truth(first_run, tiny_sample):
    home, dag_run = first_run
    assert str(dag_run.state).endswith("success")
    serving = home / "serving" / "segments.duckdb"
    assert serving.exists()

    persons = list(csv.DictReader((tiny_sample / "ground_truth" / "persons.csv").open()))
    keys = _customer_key_by_person(home / "warehouse" / "warehouse.duckdb", persons)
    con = duckdb.connect(str(serving), read_only=True)
    segment_of = dict(con.execute("select customer_key, segment from customer_segments").fetchall())
    shares = con.execute("select sum(share), sum(customers) from segment_summary").fetchone()
    con.close()

    vips = [p for p in persons if p["expected_segment"] == "vip"]
    assert vips, "the tiny sample has VIP persons"
    for p in vips:
        assert segment_of.get(keys.get(p["person_id"])) == "vip", f"{p['person_id']} should be VIP"
    matched = sum(segment_of.get(keys.get(p["person_id"])) == p["expected_segment"] for p in persons)
    assert matched / len(persons) >= 0.98, f"only {matched} of {len(persons)} persons in their expected segment"
    assert shares[0] == pytest.approx(1.0) and shares[1] == len(segment_of)


def test_daily_run_records_passing_quality_gates_and_publishes_no_direct_identifiers(first_run):
    home, _ = first_run
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    gates = con.execute(
        "select gate, bool_and(success), count(*) from meta.quality_results group by gate order by gate"
    ).fetchall()
    con.close()
    assert [(g, ok) for g, ok, _ in gates] == [("marts", True), ("raw", True)]
    assert (home / "reports" / "data_docs" / "index.html").exists()

    serving = duckdb.connect(str(home / "serving" / "segments.duckdb"), read_only=True)
    columns = {c for (c,) in serving.execute("select column_name from information_schema.columns").fetchall()}
    serving.close()
    assert not columns & {"email", "phone", "first_name", "last_name", "street", "crm_id"}


def test_daily_run_validates_segments_checks_alerts_and_writes_the_report(first_run):
    home, dag_run = first_run
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    tests = con.execute("select kpi, test, p_value from meta.segment_validation where run_id = ? "
                        "and grouping = 'segment'", [dag_run.run_id]).fetchall()
    sizes = con.execute("select sum(customers) from meta.segment_size_snapshots where run_id = ?",
                        [dag_run.run_id]).fetchone()[0]
    published = con.execute("select customers from meta.publications where run_id = ?",
                            [dag_run.run_id]).fetchone()[0]
    con.close()
    assert {kpi for kpi, _, _ in tests} >= {"spend_365d", "orders_365d", "engagement_score", "converted_90d"}
    assert all(p is not None for _, _, p in tests)
    assert sizes == published  # the alert check recorded this run's sizes as the next run's baseline
    report = home / "reports" / f"segments_{FIRST_DAY}.html"
    assert report.exists() and (home / "reports" / "latest.html").exists()
    assert report.read_text().count("<svg") >= 2


def test_corrupted_raw_batch_fails_the_gate_and_keeps_the_last_publication(first_run):
    from segmentation.airflow_setup import test_dag_run

    home, _ = first_run
    serving = home / "serving" / "segments.duckdb"
    published_before = _sha(serving)

    # A CRM extract whose emails were lost upstream: every row loads (email is
    # optional per row), but as a batch it would break identity resolution.
    bad = home / "landing" / "crm" / f"crm_customers_{NEXT_DAY}_part0001.csv"
    with bad.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CRM.column_names)
        writer.writeheader()
        for i in range(40):
            writer.writerow({"crm_id": f"CRM-9{i:07d}", "first_name": "Ann", "last_name": "Lost",
                             "updated_at": f"{NEXT_DAY}T08:00:00+01:00"})

    dag_run = test_dag_run("customer_segments", NEXT_DAY)

    assert str(dag_run.state).endswith("failed")
    assert _sha(serving) == published_before, "a failed run must not touch the published database"
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    failed = con.execute(
        """select table_name, column_name, expectation_type from meta.quality_results
           where gate = 'raw' and not success and batch_id = ?""",
        [dag_run.run_id],
    ).fetchall()
    ledger = con.execute("select status, rows_loaded from meta.load_ledger where file_name = ?", [bad.name]).fetchall()
    publications = con.execute("select count(*) from meta.publications").fetchone()[0]
    con.close()
    assert ("raw.crm_customers", "email", "expect_column_values_to_not_be_null") in failed
    assert ledger == [("loaded", 40)], "the batch stays loaded in raw (nothing is lost), it is just not published"
    assert publications == 1
