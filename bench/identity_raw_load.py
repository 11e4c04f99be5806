"""Fast raw layer for the identity benchmark: every landed file read straight
into the raw tables with DuckDB (read_csv / read_json, all VARCHAR), with the
loader's own DDL and load-metadata columns, but WITHOUT the loader's per-row
contract validation, checksums and ledger.

Why: on the shared 2-core machine `segments load` of the large tier took
2-3 min per events part (40 parts) while 6 sessions competed for CPU; the
identity benchmark measures dbt, not the loader (bench/load_throughput.py
does). The generator's files are all valid, so the rows are the same ones
the loader would insert. _row_number is 0 (the staging models only use it to
break ties between two versions of a key in one file, which the generator
never writes; numbering rows with a window made DuckDB spill 10 GB).
--identity-events-only inserts only login and purchase events, the only
events identity resolution reads (its results are the same; the staging
event view is then much smaller than in a real run).

    flock /work/large/.lock .venv/bin/python bench/identity_raw_load.py \
        --landing /work/large/landing --warehouse /work/scratch/identity/warehouse/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from segmentation.contracts import SOURCES
from segmentation.loading import ensure_tables


def load(landing: Path, warehouse: Path, memory_limit: str = "4GB", identity_events_only: bool = False) -> dict[str, int]:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse), config={"memory_limit": memory_limit, "preserve_insertion_order": False})
    counts: dict[str, int] = {}
    try:
        ensure_tables(con)
        for name, source in SOURCES.items():
            files = sorted((landing / name).glob(f"{source.file_prefix}_*"))
            files = [f for f in files if not f.name.startswith(".")]
            if not files:
                raise SystemExit(f"no {name} files under {landing / name}")
            cols = source.column_names
            file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
            struct = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
            if str(files[0]).endswith(".jsonl"):
                reader = (f"read_json({file_list}, format = 'newline_delimited', columns = {struct}, "
                          f"filename = true, maximum_object_size = 16777216)")
            else:
                reader = f"read_csv({file_list}, header = true, all_varchar = true, filename = true, columns = {struct})"
            select_cols = ", ".join(f'"{c}"' for c in cols)
            # identity resolution reads only login and purchase events: with
            # identity_events_only the other events are not inserted
            where = ("where lower(trim(event_type)) in ('login', 'purchase')"
                     if identity_events_only and name == "events" else "")
            start = time.monotonic()
            con.execute(f"""
                insert into raw.{source.table} ({select_cols}, _file_name, _file_sha256, _batch_id, _row_number, _loaded_at)
                select {select_cols}, parse_filename(filename), '', 'bench-identity',
                       0, timezone('UTC', now())::timestamp
                from {reader}
                {where}
            """)
            counts[name] = con.execute(f"select count(*) from raw.{source.table}").fetchone()[0]
            print(f"{name}: {counts[name]} rows from {len(files)} files in {time.monotonic() - start:.0f} s", flush=True)
    finally:
        con.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--identity-events-only", action="store_true")
    args = parser.parse_args()
    if args.warehouse.exists():
        raise SystemExit(f"{args.warehouse} exists: remove it first (this loads into an empty warehouse)")
    load(args.landing, args.warehouse, args.memory_limit, args.identity_events_only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
