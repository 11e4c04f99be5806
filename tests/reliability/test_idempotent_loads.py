"""Loading is incremental, idempotent and recoverable: the ledger decides, not the file name."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import segmentation.loading as loading
from ingest_helpers import CRM_COLS, ORDER_COLS, Deployment, crm_row, csv_text, order_row
from segmentation.loading import Candidate, requeue, settle
from segmentation.contracts import ORDERS


class SimulatedCrash(BaseException):
    """Stands in for the process dying (BaseException: nothing catches it on the way)."""


def _orders(*ids: str) -> str:
    return csv_text(ORDER_COLS, [order_row(i) for i in ids])


def test_running_the_same_day_twice_leaves_the_warehouse_identical(deployment: Deployment) -> None:
    deployment.write("orders", "order_lines_2026-11-20_part0001.csv", _orders("O-1", "O-2") + "bad,row\n")
    deployment.write("crm", "crm_customers_2026-11-20.csv", csv_text(CRM_COLS, [crm_row("CRM-1"), crm_row("")]))
    deployment.write("orders", "order_lines_2026-11-20_part0002.csv", b"")
    first = deployment.load(batch_id="run-1")
    before = deployment.table_checksums()

    second = deployment.load(batch_id="run-1")

    assert deployment.table_checksums() == before
    assert first.rows_loaded == 3 and first.rows_rejected == 2 and first.count("quarantined") == 1
    assert {f.status for f in second.files} == {"already_loaded"} and second.rows_loaded == 0


def test_second_delivery_of_same_file_under_new_name_loads_nothing(deployment: Deployment) -> None:
    deployment.write("orders", "order_lines_2026-11-20_part0001.csv", _orders("O-1", "O-2"))
    deployment.load()
    deployment.write("orders", "order_lines_2026-11-20_resend.csv", _orders("O-1", "O-2"))

    report = deployment.load()

    [outcome] = [f for f in report.files if f.status != "already_loaded"]
    assert outcome.status == "duplicate" and "order_lines_2026-11-20_part0001.csv" in outcome.error
    assert deployment.query("select count(*) from raw.order_lines") == [(2,)]
    assert deployment.query("select status from meta.load_ledger order by finished_at") == [("loaded",), ("duplicate",)]
    assert {f.status for f in deployment.load().files} == {"already_loaded"}


def test_touched_file_with_same_content_is_not_loaded_again(deployment: Deployment) -> None:
    path = deployment.write("orders", "order_lines_2026-11-20.csv", _orders("O-1"))
    deployment.load()
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))

    report = deployment.load()

    assert [f.status for f in report.files] == ["already_loaded"]
    assert deployment.query("select count(*), count(distinct sha256) from meta.load_ledger") == [(1, 1)]
    assert deployment.query("select count(*) from raw.order_lines") == [(1,)]


def test_only_new_files_are_loaded_and_late_data_for_an_older_date_is_accepted(deployment: Deployment) -> None:
    deployment.write("orders", "order_lines_2026-11-20.csv", _orders("O-20"))
    deployment.load(batch_id="day-20")
    deployment.write("orders", "order_lines_2026-11-14.csv", _orders("O-14"))  # late extract

    report = deployment.load(batch_id="day-21")

    assert [(Path(f.path).name, f.status) for f in report.files if f.status == "loaded"] == [
        ("order_lines_2026-11-14.csv", "loaded")]
    assert deployment.query("select order_id, _batch_id from raw.order_lines order by order_id") == [
        ("O-14", "day-21"), ("O-20", "day-20")]


def test_quarantined_file_fixed_and_requeued_is_loaded(deployment: Deployment) -> None:
    name = "order_lines_2026-11-20.csv"
    deployment.write("orders", name, csv_text([c for c in ORDER_COLS if c != "currency"], [order_row()]))
    assert deployment.load().quarantined
    quarantined = deployment.settings.quarantine / "orders" / name
    quarantined.write_text(_orders("O-1"))  # the fix

    moved = requeue(deployment.settings, [name])

    assert moved == [deployment.settings.landing / "orders" / name]
    assert not quarantined.exists() and not quarantined.with_name(name + ".reason.txt").exists()
    report = deployment.load()
    assert report.count("loaded") == 1 and report.rows_loaded == 1


def test_requeue_without_a_fix_evaluates_the_file_again(deployment: Deployment) -> None:
    name = "order_lines_2026-11-20.csv"
    deployment.write("orders", name, b"")
    deployment.load()

    requeue(deployment.settings, [])
    report = deployment.load()

    assert [(f.status, f.rule) for f in report.files] == [("quarantined", "empty_file")]
    assert deployment.query("select status from meta.load_ledger order by finished_at") == [
        ("requeued",), ("quarantined",)]


def test_requeue_of_unknown_name_fails_with_clear_message(deployment: Deployment) -> None:
    with pytest.raises(loading.ExtractError, match="nope.csv.*not_in_quarantine"):
        requeue(deployment.settings, ["nope.csv"])


def test_crash_between_quarantine_ledger_and_move_is_finished_by_next_run(deployment: Deployment,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    name = "order_lines_2026-11-20.csv"
    path = deployment.write("orders", name, b"")

    def crash(*_a, **_k):
        raise SimulatedCrash()

    monkeypatch.setattr(loading, "_move", crash)
    with pytest.raises(SimulatedCrash):
        deployment.load()
    assert path.exists()
    monkeypatch.undo()

    report = deployment.load()

    assert [f.status for f in report.files] == ["quarantined"]
    assert not path.exists() and (deployment.settings.quarantine / "orders" / name).exists()
    assert deployment.query("select count(*) from meta.load_ledger") == [(1,)]


def test_crash_inside_a_file_load_leaves_no_rows_and_next_run_loads_it(deployment: Deployment,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    deployment.write("orders", "order_lines_2026-11-20.csv", _orders("O-1", "O-2", "O-1"))
    real_insert = loading._insert_ledger

    def crash_before_ledger(*args, **kwargs):  # raw rows and rejects are written by now
        raise SimulatedCrash()

    monkeypatch.setattr(loading, "_insert_ledger", crash_before_ledger)
    with pytest.raises(SimulatedCrash):
        deployment.load()
    monkeypatch.setattr(loading, "_insert_ledger", real_insert)
    assert deployment.table_checksums()["raw.order_lines"][0] == 0
    assert deployment.table_checksums()["meta.rejected_rows"][0] == 0
    assert not [t for (t,) in deployment.query("select table_name from duckdb_tables() where table_name like '\\_%' escape '\\'")]

    report = deployment.load()

    assert report.rows_loaded == 2 and report.rows_rejected == 1
    assert deployment.query("select count(*), count(distinct _row_number) from raw.order_lines") == [(2, 2)]


def test_file_still_growing_is_left_for_the_next_run(deployment: Deployment) -> None:
    path = deployment.write("orders", "order_lines_2026-11-20.csv", _orders("O-1"))
    st = path.stat()
    candidate = Candidate(path, ORDERS, st.st_size, st.st_mtime_ns)

    def keep_writing() -> None:
        time.sleep(0.2)
        with path.open("a") as f:
            f.write("O-2,1,2026-11-20T10:00:00Z,,x@y.z,completed,web,EUR,P,1,1.0,0\n")

    writer = threading.Thread(target=keep_writing)
    writer.start()
    ready, pending = settle([candidate], settle_seconds=0.6)
    writer.join()

    assert ready == [] and [p.status for p in pending] == ["pending"]
    assert "still being written" in pending[0].error


def test_file_that_stopped_changing_is_loaded_after_settling(deployment: Deployment) -> None:
    deployment.write("orders", "order_lines_2026-11-20.csv", _orders("O-1"))
    report = deployment.load(settle_seconds=0.3)
    assert report.count("loaded") == 1


def test_temp_file_is_loaded_once_renamed_to_its_final_name(deployment: Deployment) -> None:
    tmp = deployment.write("orders", "order_lines_2026-11-20.csv.tmp", _orders("O-1"))
    assert [f.status for f in deployment.load().files] == ["pending"]
    tmp.rename(tmp.with_name("order_lines_2026-11-20.csv"))
    assert deployment.load().rows_loaded == 1
