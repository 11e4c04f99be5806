"""Raw retention: rows and landed files older than the period go, the ledger stays and still
recognises the expired file."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from segmentation.config import Settings
from segmentation.errors import ConfigError
from segmentation.loading import load_new_files
from segmentation.privacy import enforce_retention, retention_days

HEADER = "crm_id,first_name,email,updated_at\n"


def _settings(tmp_path: Path) -> Settings:
    base = Settings.from_env()
    return replace(base, home=tmp_path, landing=tmp_path / "landing", quarantine=tmp_path / "quarantine",
                   warehouse=tmp_path / "warehouse" / "wh.duckdb", serving=tmp_path / "serving" / "s.duckdb")


def test_retention_deletes_expired_raw_rows_and_files_and_keeps_the_ledger(tmp_path):
    settings = _settings(tmp_path)
    old = settings.landing / "crm" / "crm_customers_2023-01-01.csv"
    old.parent.mkdir(parents=True)
    old.write_text(HEADER + "CRM-1,Old,old@example.com,2023-01-01T00:00:00Z\n")
    load_new_files(settings, batch_id="old", settle_seconds=0)
    new = settings.landing / "crm" / "crm_customers_2026-11-25.csv"
    new.write_text(HEADER + "CRM-2,New,new@example.com,2026-11-25T00:00:00Z\n")
    load_new_files(settings, batch_id="new", settle_seconds=0)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("update raw.crm_customers set _loaded_at = timestamp '2023-01-02' where crm_id = 'CRM-1'")
    con.execute("update meta.load_ledger set finished_at = timestamp '2023-01-02' where file_name = ?", [old.name])
    con.close()

    report = enforce_retention(settings, now=datetime(2026, 11, 26, tzinfo=timezone.utc), days=365)

    assert report.rows_deleted == {"raw.crm_customers": 1}
    assert report.files_deleted == [str(old)] and not old.exists() and new.exists()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute("select crm_id from raw.crm_customers").fetchall() == [("CRM-2",)]
    assert con.execute("select count(*) from meta.load_ledger where status = 'loaded'").fetchone()[0] == 2
    assert con.execute("select retention_days, rows_deleted, files_deleted from meta.retention_runs").fetchall() == [
        (365, 1, 1)]
    con.close()
    # the expired file delivered again is recognised by its checksum: nothing comes back
    old.write_text(HEADER + "CRM-1,Old,old@example.com,2023-01-01T00:00:00Z\n")
    again = load_new_files(settings, batch_id="again", settle_seconds=0)
    assert again.rows_loaded == 0
    assert [f.status for f in again.files if f.path == str(old)] in (["duplicate"], ["already_loaded"])


def test_retention_period_is_configuration_and_bad_values_are_named(monkeypatch):
    monkeypatch.setenv("SEGMENTS_RAW_RETENTION_DAYS", "30")
    assert retention_days() == 30
    monkeypatch.setenv("SEGMENTS_RAW_RETENTION_DAYS", "a year")
    with pytest.raises(ConfigError, match="SEGMENTS_RAW_RETENTION_DAYS='a year'"):
        retention_days()
