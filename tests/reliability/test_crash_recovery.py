"""A load killed with SIGKILL in the middle is completed by the next run, with no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingest_helpers import Deployment

ROWS_PER_FILE = 150_000
FILES = 4

LOADER = """
import logging, sys
from pathlib import Path
sys.path.insert(0, {helpers!r})
from ingest_helpers import make_deployment
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
make_deployment(Path({home!r})).load(batch_id="killed")
"""


def _write_files(dep: Deployment) -> None:
    con = duckdb.connect()
    for part in range(1, FILES + 1):
        path = dep.settings.landing / "orders" / f"order_lines_2026-11-{10 + part}_part0001.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"""
            copy (select 'O{part}-' || i as order_id, '1' as line_number, '2026-11-10T10:00:00+01:00' as order_ts,
                         'CRM-1' as crm_id, 'a@example.com' as email, 'completed' as status, 'web' as channel,
                         'EUR' as currency, 'P-1' as product_id, (1 + i % 4)::varchar as quantity,
                         '9.99' as unit_price, '0' as discount_amount
                  from range({ROWS_PER_FILE}) t(i)) to '{path}' (header)""")
    con.close()


@pytest.mark.slow
def test_load_killed_mid_file_is_completed_by_next_run_without_duplicates(deployment: Deployment) -> None:
    _write_files(deployment)
    script = LOADER.format(helpers=str(Path(__file__).parent), home=str(deployment.settings.home))
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SEGMENTS_SETTLE_SECONDS": "0"})
    started = 0
    assert proc.stderr is not None
    for line in proc.stderr:  # kill while the second file is inside its transaction
        if line.startswith("loading "):
            started += 1
            if started == 2:
                time.sleep(0.3)
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    ledger = deployment.query("select file_name, rows_loaded from meta.load_ledger where status = 'loaded'")
    per_file = dict(deployment.query("select _file_name, count(*) from raw.order_lines group by 1"))
    assert len(ledger) < FILES, "the kill came after the whole load; make the files larger"
    # No partial file: every file in raw is complete and in the ledger, and vice versa.
    assert per_file == {name: ROWS_PER_FILE for name, _ in ledger}
    assert all(rows == ROWS_PER_FILE for _, rows in ledger)

    report = deployment.load(batch_id="recovery")

    assert report.count("loaded") == FILES - len(ledger)
    total, distinct = deployment.query(
        "select count(*), count(distinct (_file_name, _row_number)) from raw.order_lines")[0]
    assert total == distinct == FILES * ROWS_PER_FILE
    assert deployment.query("select count(*), count(distinct sha256) from meta.load_ledger "
                            "where status = 'loaded'") == [(FILES, FILES)]
    leftovers = "select count(*) from duckdb_tables() where starts_with(table_name, '_load_')"
    assert deployment.query(leftovers) == [(0,)]
