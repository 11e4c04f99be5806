"""Time and compare the audience export of two versions of segmentation/audiences.py on one warehouse.

Both versions export from the same warehouse with the same salt into separate
folders; every file must match (CSV byte for byte, Parquet row for row), and the
manifests' counts too. Then the current version exports once more into the old
version's folder: its deltas against the old export must be empty.

    git show d0db0cc~1:plugins/segmentation/audiences.py > /tmp/old_audiences.py
    .venv/bin/python bench/compare_audiences.py --old /tmp/old_audiences.py \
        --warehouse bench/out/large/warehouse/warehouse.duckdb --out /tmp/audiences_cmp
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="the other version of audiences.py")
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="scratch folder (emptied first)")
    args = ap.parse_args()
    os.environ.setdefault("SEGMENTS_PII_SALT", "compare-audiences-salt-0123456789")

    import duckdb

    import segmentation.audiences as new
    from segmentation.config import Settings

    spec = importlib.util.spec_from_file_location("old_audiences", args.old)
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_audiences"] = old
    spec.loader.exec_module(old)

    shutil.rmtree(args.out, ignore_errors=True)
    out = args.out

    def settings(exports: Path) -> Settings:
        return Settings(home=out, landing=out / "landing", quarantine=out / "quarantine", warehouse=args.warehouse,
                        serving=out / "serving.duckdb", reports=out / "reports", dbt_project=REPO / "dbt_project",
                        expectations=REPO / "expectations", exports=exports)

    start = time.perf_counter()
    a = old.export_audiences(settings(out / "old"), "cmp-1")
    old_s = time.perf_counter() - start
    start = time.perf_counter()
    b = new.export_audiences(settings(out / "new"), "cmp-1")
    new_s = time.perf_counter() - start

    con = duckdb.connect()
    files = 0
    for name in sorted(p.name for p in a.folder.iterdir()):
        if name == "manifest.json":
            ma, mb = (json.loads((f / name).read_text()) for f in (a.folder, b.folder))
            assert ma["audiences"] == mb["audiences"], "manifest counts differ"
            continue
        if name.endswith(".csv"):
            assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes(), name
        else:
            rows = [con.execute(f"select * from read_parquet('{f / name}')").fetchall() for f in (a.folder, b.folder)]
            assert rows[0] == rows[1], name
        files += 1
    again = new.export_audiences(settings(out / "old"), "cmp-2")
    deltas = sum(x["added"] + x["removed"] for x in again.manifest["audiences"])
    assert deltas == 0, f"{deltas} delta rows against the old export"
    print(f"old {old_s:.1f} s, new {new_s:.1f} s; {files} files identical; deltas against the old export: 0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
