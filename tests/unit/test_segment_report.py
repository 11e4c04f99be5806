"""The segment report: self-contained HTML that renders its charts in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from _segment_marts import build_marts
from segmentation.alerts import check_alerts_on
from segmentation.monitoring import MonitoringConfig
from segmentation.segment_report import write_report
from segmentation.validation import compute_validation, record_validation

REPO = Path(__file__).resolve().parents[2]
CHART_SECTIONS = ("sizes", "transitions", "rfm", "validation", "quality")


def _quality_history(con) -> None:
    con.execute("create schema if not exists meta")
    con.execute("""create table meta.quality_results (run_id varchar, gate varchar, suite varchar,
        table_name varchar, expectation_type varchar, column_name varchar, success boolean, observed_value varchar,
        unexpected_count bigint, batch_id varchar, validated_at timestamp)""")
    for day in range(3):
        for gate, n in (("raw", 8), ("marts", 4)):
            for j in range(n):
                failed = day == 1 and gate == "raw" and j == 0
                con.execute("insert into meta.quality_results values (?, ?, 'suite', 'raw.crm_customers', "
                            "'expect_column_values_to_not_be_null', 'email', ?, null, ?, null, ?)",
                            [f"run-{day}", gate, not failed, 17 if failed else 0, datetime(2026, 11, 23 + day, 6, j)])


@pytest.fixture(scope="module")
def full_report(tmp_path_factory) -> Path:
    """A warehouse with history marts, RFM columns, quality history, validation and alerts, and its report."""
    home = tmp_path_factory.mktemp("report")
    path = build_marts(home / "warehouse.duckdb", history=True)
    with duckdb.connect(str(path)) as con:
        _quality_history(con)
        record_validation(con, compute_validation(con, "run-2", MonitoringConfig()))
        check_alerts_on(con, "run-2", MonitoringConfig(), {})
        write_report(con, home / "reports", "run-2")
    return home / "reports"


def _section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert match, f"section {anchor} missing"
    return match.group(1)


def test_report_is_written_per_run_and_as_latest_with_every_section(full_report):
    dated = full_report / "segments_2026-11-25.html"
    assert dated.exists() and (full_report / "latest.html").read_text() == dated.read_text()
    page = dated.read_text()
    for anchor in CHART_SECTIONS:
        assert "<svg" in _section(page, anchor), f"no chart in section {anchor}"
    assert "No history yet" not in page
    assert "Segment transitions 2026-11-18 → 2026-11-25" in page
    validation = _section(page, "validation")
    assert "kruskal-wallis" in validation and "chi-square" in validation and "too small to act on" in validation


def test_report_has_no_external_resources(full_report):
    page = (full_report / "latest.html").read_text()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "url(http" not in page and "@import" not in page
    assert "<script" not in page


def test_report_before_any_history_says_so_instead_of_failing(tmp_path):
    path = build_marts(tmp_path / "warehouse.duckdb")  # no history marts, no meta tables, no RFM columns
    with duckdb.connect(str(path), read_only=True) as con:
        report = write_report(con, tmp_path / "reports")
    page = report.read_text()
    assert "No history yet: only one run so far" in _section(page, "sizes")
    assert "<svg" in _section(page, "sizes")  # the current sizes, as bars
    assert "No history yet" in _section(page, "transitions")
    assert "No RFM scores yet" in _section(page, "rfm")
    assert "Not validated yet" in _section(page, "validation")
    assert "No quality results yet" in _section(page, "quality")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("Chromium is not installed and scripts/ensure-chromium.sh could not install it "
                "(needs root and Debian's apt; `make test` runs it first)")


def _browser(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


@pytest.mark.slow
def test_report_renders_in_headless_chromium_with_its_charts(full_report, tmp_path):
    url = (full_report / "latest.html").as_uri()
    dom = _browser(["--dump-dom", url], tmp_path / "profile").stdout
    assert dom.count("<svg") >= 6, "the rendered DOM lacks the report's charts"
    for anchor in CHART_SECTIONS:
        assert "<svg" in _section(dom, anchor), f"section {anchor} has no chart in the rendered DOM"

    shot = tmp_path / "report.png"
    _browser([f"--screenshot={shot}", "--window-size=1280,2400", url], tmp_path / "profile")
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    pixels = list(image.resize((320, 600)).getdata())
    colours = len(set(pixels))
    non_white = sum(1 for p in pixels if sum(p) < 690) / len(pixels)  # page background is #f6f8fa
    blue_chart = sum(1 for r, g, b in pixels if b > 120 and b > r + 40)  # the line / heatmap colours
    assert colours > 200 and non_white > 0.05 and blue_chart > 100, (colours, non_white, blue_chart)


def test_cli_validates_checks_alerts_and_writes_the_report(tmp_path, monkeypatch, capsys):
    from segmentation.cli import main

    path = build_marts(tmp_path / "warehouse.duckdb", history=True)
    monkeypatch.setenv("SEGMENTS_HOME", str(tmp_path))
    monkeypatch.setenv("SEGMENTS_WAREHOUSE", str(path))
    monkeypatch.setenv("SEGMENTS_MIN_SEGMENT_CUSTOMERS", "10")
    assert main(["validate", "--run-id", "cli-1", "--dry-run"]) == 0
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.tables where table_schema = 'meta'") \
            .fetchone()[0] == 0  # --dry-run wrote nothing
    assert main(["validate", "--run-id", "cli-1", "--strict"]) == 1  # email_engaged_90d does not separate
    assert main(["alerts", "--run-id", "cli-1"]) == 0
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "does NOT separate" in out and "segment report:" in out
    assert (tmp_path / "reports" / "latest.html").exists()
    monkeypatch.setenv("SEGMENTS_WAREHOUSE", str(tmp_path / "missing.duckdb"))
    assert main(["report"]) == 2
    assert "warehouse file does not exist" in capsys.readouterr().err
