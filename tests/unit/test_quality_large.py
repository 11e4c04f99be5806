"""The raw gate validates millions of rows without loading them into memory.

Three subprocesses, so each one's peak RSS is its own: one builds a raw
batch of ROWS order lines in DuckDB (range()), one runs the gate on it, one
measures what the same rows cost as a pandas DataFrame (a tenth of them,
scaled: loading all would take longer than the whole test budget).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROWS = 3_000_000
BAD_STATUS = ROWS // 250_000       # rows with status 'bogus'
BAD_QUANTITY = ROWS // 100_000     # rows with quantity '0'
DUPLICATED = 7                     # keys delivered twice
MEMORY_LIMIT = "128MB"             # DuckDB working memory of the gate (it spills beyond)

BUILD = textwrap.dedent("""
    import sys, duckdb
    from segmentation.contracts import ORDERS
    db, rows, dup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    con = duckdb.connect(db)
    con.execute("create schema raw")
    con.execute("set preserve_insertion_order = false")
    # Only order_id is built per row; the other values come from small lists
    # (int-to-text on every row would dominate the test's time on 2 cores).
    con.execute(f'''
        create table raw.order_lines as
        select 'ORD-' || i::varchar as order_id,
               ['1', '2', '3'][i % 3 + 1] as line_number,
               ['2026-11-20T10:15:00+01:00', '2026-11-21T08:00:00Z', '2026-11-22 23:59:59'][i % 3 + 1] as order_ts,
               ['CRM-0000042', 'CRM-0000043', ''][i % 3 + 1] as crm_id,
               ['anna.schmidt@example.com', 'GUEST.buyer@example.org '][i % 2 + 1] as email,
               case when i % 250000 = 11 then 'bogus' else 'completed' end as status,
               ['web', 'app', 'store', ''][i % 4 + 1] as channel,
               ['EUR', 'USD', 'GBP'][i % 3 + 1] as currency,
               ['SKU-100045', 'SKU-220871', 'SKU-310002'][i % 3 + 1] as product_id,
               case when i % 100000 = 13 then '0' else ['1', '2', '3', '4'][i % 4 + 1] end as quantity,
               ['19.99', '5.00', '129.90'][i % 3 + 1] as unit_price,
               ['', '2.50'][i % 2 + 1] as discount_amount,
               'order_lines_2026-11-25_part0001.csv' as _file_name,
               '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' as _file_sha256,
               'big' as _batch_id, i + 2 as _row_number, timestamp '2026-11-25 10:00:00' as _loaded_at
        from range({rows}) t(i)''')
    # the same key delivered twice: copy `dup` rows
    con.execute(f"insert into raw.order_lines select * from raw.order_lines where _row_number < {dup + 2}")
    con.close()
""")

GATE = textwrap.dedent("""
    import dataclasses, json, sys, time
    from pathlib import Path
    from segmentation.config import Settings
    from segmentation.quality import run_gate

    def peak_rss_mb():
        # VmHWM: this process image's own peak (ru_maxrss would inherit the
        # parent's peak across fork+exec, i.e. pytest's after a long session)
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    home = Path(sys.argv[1])
    settings = dataclasses.replace(Settings.from_env(), home=home, warehouse=home / "wh.duckdb",
                                   reports=home / "reports")
    # import GE and its dependencies first: that memory does not depend on the data
    import great_expectations, segmentation.quality_engine
    baseline = peak_rss_mb()
    start = time.monotonic()
    result = run_gate(settings, "raw", run_id="big", batch_id="big")
    print(json.dumps({
        "seconds": time.monotonic() - start,
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "success": result.success,
        "failed": {f"{f.column}:{f.expectation_type}": f.unexpected_count for f in result.failures},
        "rows": [s for s in (e.observed_value for e in result.expectations
                             if e.expectation_type == "expect_table_row_count_to_be_between")],
    }))
""")

PANDAS = textwrap.dedent("""
    import json, sys, duckdb
    db, rows = sys.argv[1], int(sys.argv[2])
    con = duckdb.connect(db, read_only=True)
    sample = con.execute(f"select * from raw.order_lines limit {rows // 10}").df()
    con.close()
    print(json.dumps({"pandas_mb": sample.memory_usage(deep=True).sum() * 10 / 2**20}))
""")


def _run(script: str, *args: str, timeout: int = 120, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_raw_gate_on_three_million_rows_stays_far_below_the_pandas_size_and_counts_bad_rows_exactly(tmp_path: Path):
    db = tmp_path / "wh.duckdb"
    _run(BUILD, str(db), str(ROWS), str(DUPLICATED))
    pandas_mb = json.loads(_run(PANDAS, str(db), str(ROWS)))["pandas_mb"]

    gate = json.loads(_run(GATE, str(tmp_path), env={"SEGMENTS_GATE_MEMORY_LIMIT": MEMORY_LIMIT}))
    print(f"\n{ROWS + DUPLICATED} rows: pandas {pandas_mb:.0f} MB, gate peak RSS {gate['peak_rss_mb']:.0f} MB "
          f"(after imports {gate['baseline_rss_mb']:.0f} MB), {gate['seconds']:.1f} s")

    assert gate["rows"] == [str(ROWS + DUPLICATED)]
    assert not gate["success"]
    assert gate["failed"] == {
        "status:expect_column_values_to_be_in_set": BAD_STATUS,
        "quantity:expect_column_values_to_match_regex": BAD_QUANTITY,
        "order_id,line_number:unexpected_rows_expectation": DUPLICATED,  # one row per duplicated key
    }
    # what the data adds to the process stays far below the data's pandas size ...
    assert gate["peak_rss_mb"] - gate["baseline_rss_mb"] < pandas_mb / 4, (gate, pandas_mb)
    # ... and the whole process, GE's own ~270 MB included, well below it
    assert gate["peak_rss_mb"] < pandas_mb * 0.6, (gate, pandas_mb)
