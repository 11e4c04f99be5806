"""Privacy end to end on the tiny sample (issue 6): pseudonymous serving file, consent-aware audiences
with holdouts and deltas, and an erasure that leaves no trace and survives a later extract."""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from segmentation.config import Settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-25"


def _dbt_build(settings: Settings, work: Path) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(REPO / "dbt_project"),
         "--profiles-dir", str(REPO / "dbt_project"), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--vars", f'{{as_of_date: "{AS_OF}"}}'],
        cwd=REPO, env={**os.environ, "SEGMENTS_WAREHOUSE": str(settings.warehouse)},
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_sample, airflow_db, dbt_manifest):
    """Tiny sample loaded, built, published and exported once, in its own data home."""
    from segmentation.audiences import export_audiences
    from segmentation.loading import load_new_files
    from segmentation.publishing import publish

    home = tmp_path_factory.mktemp("privacy-home")
    shutil.copytree(tiny_sample / "landing", home / "landing")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("SEGMENTS_SERVING", "SEGMENTS_EXPORTS", "SEGMENTS_LANDING", "SEGMENTS_QUARANTINE",
                    "SEGMENTS_REPORTS"):
            mp.delenv(var, raising=False)
        mp.setenv("SEGMENTS_HOME", str(home))
        mp.setenv("SEGMENTS_WAREHOUSE", str(home / "warehouse" / "warehouse.duckdb"))
        mp.setenv("SEGMENTS_SETTLE_SECONDS", "0")
        settings = Settings.from_env()
        load_new_files(settings, batch_id="b1")
        _dbt_build(settings, home / "dbt")
        publish(settings, run_id="run-1")
        export_audiences(settings, run_id="run-1")
        yield settings


def _landing_crm(tiny_sample: Path) -> list[dict]:
    rows = []
    for path in sorted((tiny_sample / "landing" / "crm").iterdir()):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
            first = f.readline()
            f.seek(0)
            delimiter = max([",", ";", "\t", "|"], key=first.count)
            rows += list(csv.DictReader(f, delimiter=delimiter))
    return rows


# --------------------------------------------------------------------------- pseudonymised serving file

def test_no_direct_identifier_from_the_raw_sample_in_any_serving_column(built, tiny_sample):
    from segmentation.privacy import normalize_phone, scan_database

    needles: set[str] = set()
    for row in _landing_crm(tiny_sample):
        for col in ("email", "phone", "first_name", "last_name", "street", "crm_id"):
            if (row.get(col) or "").strip():
                needles.add(row[col])
        needles.add(normalize_phone(row.get("phone")) or "")
        needles.add((row.get("email") or "").strip().lower())
    needles = {n for n in needles if len(n.strip()) >= 3}
    assert len(needles) > 500
    con = duckdb.connect(str(built.serving), read_only=True)
    tables = {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
    hashes = con.execute("select email_sha256 from customer_match_keys where email_sha256 is not null").fetchall()
    con.close()
    assert {"customer_consent", "customer_match_keys"} <= tables
    assert hashes and all(len(h) == 64 for (h,) in hashes)
    findings = scan_database(built.serving, needles)
    assert findings == [], findings[:5]
    # the same scan finds them in the warehouse's restricted schema: it can fail
    assert any(f.where.startswith("restricted.") for f in scan_database(built.warehouse, needles))


def test_publishing_hashes_without_a_salt_is_refused_and_keeps_the_last_publication(built, monkeypatch):
    from segmentation.errors import ConfigError
    from segmentation.publishing import publish

    before = built.serving.read_bytes()
    for var in ("SEGMENTS_PII_SALT", "SEGMENTS_PII_SALT_FILE", "AIRFLOW_VAR_SEGMENTS_PII_SALT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="needs a PII salt"):
        publish(built, run_id="no-salt")
    assert built.serving.read_bytes() == before
    assert not list(built.serving.parent.glob("*.tmp"))


# --------------------------------------------------------------------------- audiences

def _latest(settings: Settings) -> Path:
    return settings.audience_dir / "runs" / json.loads((settings.audience_dir / "latest.json").read_text())["folder"]


def test_opted_out_customers_are_absent_from_audiences(built, tiny_sample):
    folder = _latest(built)
    manifest = json.loads((folder / "manifest.json").read_text())
    con = duckdb.connect(str(built.warehouse), read_only=True)
    granted = {(k, c) for k, c in con.execute(
        "select customer_key, channel from marts.customer_consent where granted").fetchall()}
    opted_out_people = con.execute(
        "select i.customer_key from restricted.customer_identifiers i where i.identifier_type = 'crm' and "
        "i.identifier_value in (select unnest(?::varchar[]))",
        [[p["primary_crm_id"] for p in csv.DictReader((tiny_sample / "ground_truth" / "persons.csv").open())
          if p["email_opt_in"] == "false" and p["primary_crm_id"]]]).fetchall()
    members = dict(con.execute("select customer_key, segment from marts.customer_segments").fetchall())
    con.close()
    opted_out = {k for (k,) in opted_out_people}
    assert opted_out, "the tiny sample has customers without email consent"
    exported: dict[str, set[str]] = {"email": set(), "sms": set()}
    for entry in manifest["audiences"]:
        seg, channel = entry["segment"], entry["channel"]
        df = pd.read_parquet(folder / f"audience_{seg}_{channel}.parquet")
        csv_df = pd.read_csv(folder / f"audience_{seg}_{channel}.csv")
        assert len(df) == len(csv_df) == entry["rows"]
        assert all((k, channel) in granted for k in df["customer_key"]), f"{seg}/{channel} exports a non-consenter"
        assert all(members[k] == seg for k in df["customer_key"])
        exported[channel] |= set(df["customer_key"])
    assert exported["email"] and not exported["email"] & opted_out
    for f in manifest["files"]:  # checksums in the manifest are those of the files
        import hashlib
        assert hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"]
    assert len(manifest["rule_version"]) == 64


def test_holdout_is_stable_across_runs_and_close_to_the_share(built, tmp_path):
    from segmentation.audiences import export_audiences

    settings = replace(built, exports=tmp_path / "exports")
    first = export_audiences(settings, run_id="h-1")
    second = export_audiences(settings, run_id="h-2")
    flags = []
    for entry in first.manifest["audiences"]:
        stem = f"audience_{entry['segment']}_{entry['channel']}.parquet"
        a = pd.read_parquet(first.folder / stem).set_index("customer_key")["holdout"]
        b = pd.read_parquet(second.folder / stem).set_index("customer_key")["holdout"]
        assert a.equals(b)
        flags += list(a)
        delta = pd.read_parquet(second.folder / f"delta_{entry['segment']}_{entry['channel']}.parquet")
        assert delta.empty, "nothing changed between the runs: the delta is empty"
    assert len(flags) > 200
    assert abs(sum(flags) / len(flags) - 0.1) < 0.05


def test_delta_export_lists_exactly_who_was_added_and_removed(built, tmp_path):
    from segmentation.audiences import export_audiences

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, warehouse)
    settings = replace(built, warehouse=warehouse, exports=tmp_path / "exports")
    first = export_audiences(settings, run_id="d-1")
    stem = "audience_prospect_email"
    before = pd.read_parquet(first.folder / f"{stem}.parquet")
    con = duckdb.connect(str(warehouse))
    withdrawn = sorted(before["customer_key"])[:3]
    con.execute("update marts.customer_consent set granted = false where channel = 'email' "
                "and customer_key in (select unnest(?::varchar[]))", [withdrawn])
    joined = [k for (k,) in con.execute(
        """select c.customer_key from marts.customer_consent c join marts.customer_segments s using (customer_key)
           join restricted.customer_pii p using (customer_key)
           where c.channel = 'email' and not c.granted and s.segment = 'prospect' and p.email is not null
             and c.customer_key not in (select unnest(?::varchar[]))
           order by 1 limit 2""", [withdrawn]).fetchall()]
    assert len(joined) == 2
    con.execute("update marts.customer_consent set granted = true where channel = 'email' "
                "and customer_key in (select unnest(?::varchar[]))", [joined])
    con.close()

    second = export_audiences(settings, run_id="d-2")

    delta = pd.read_parquet(second.folder / "delta_prospect_email.parquet")
    assert sorted(delta[delta["change"] == "removed"]["customer_key"]) == withdrawn
    assert sorted(delta[delta["change"] == "added"]["customer_key"]) == sorted(joined)
    assert second.manifest["previous_export"] == first.folder.name
    # applying every delta to the first export gives the second, for every segment and channel
    for entry in second.manifest["audiences"]:
        s = f"audience_{entry['segment']}_{entry['channel']}.parquet"
        old = set(pd.read_parquet(first.folder / s)["customer_key"])
        new = set(pd.read_parquet(second.folder / s)["customer_key"])
        d = pd.read_parquet(second.folder / s.replace("audience_", "delta_"))
        assert (old | set(d[d.change == "added"].customer_key)) - set(d[d.change == "removed"].customer_key) == new


# --------------------------------------------------------------------------- erasure

def _person(tiny_sample: Path, built: Settings) -> dict:
    """A CRM customer with email consent, a phone, orders and web events, who is in an email audience."""
    persons = list(csv.DictReader((tiny_sample / "ground_truth" / "persons.csv").open()))
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        for p in persons:
            if not (p["primary_crm_id"] and p["email_opt_in"] == "true" and p["expected_segment"] == "active"
                    and ";" in p["crm_ids"]):
                continue
            key = con.execute("select customer_key from restricted.customer_identifiers where identifier_type = 'crm' "
                              "and identifier_value = ?", [p["primary_crm_id"]]).fetchone()
            if not key:
                continue
            ids = con.execute("select identifier_type, identifier_value from restricted.customer_identifiers "
                              "where customer_key = ? and not is_excluded", [key[0]]).fetchall()
            kinds = {t for t, _ in ids}
            if {"crm", "email", "phone", "anon", "order"} <= kinds:
                raw_phones = [v for (v,) in con.execute(
                    "select distinct phone from raw.crm_customers where crm_id in (select unnest(?::varchar[])) "
                    "and phone <> ''", [[v for t, v in ids if t == "crm"]]).fetchall()]
                raw_emails = [v for (v,) in con.execute(
                    "select distinct email from raw.crm_customers where crm_id in (select unnest(?::varchar[])) "
                    "and email <> ''", [[v for t, v in ids if t == "crm"]]).fetchall()]
                return {"customer_key": key[0], "email": p["emails"].split(";")[0], "ids": ids,
                        "needles": sorted({v for _, v in ids} | set(raw_phones) | set(raw_emails) | {key[0]})}
    finally:
        con.close()
    raise AssertionError("no suitable person in the tiny sample")


def _traces(home: Path, needles: list[str]) -> list[str]:
    """Every table row or file under the data home that still mentions a needle."""
    from segmentation.privacy import scan_database

    lowered = [n.lower() for n in needles]
    found = []
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        if "dbt" in path.relative_to(home).parts[:1]:
            continue  # dbt's own target/logs of this test (compiled SQL, no data)
        if path.suffix == ".duckdb":
            found += [f"{path.name}:{f.where}.{f.column}={f.value}"
                      for f in scan_database(path, set(needles), substring=True)]
        elif path.suffix == ".parquet":
            df = pd.read_parquet(path).astype(str)
            text = "\n".join(df.apply(lambda r: " ".join(r), axis=1)).lower()
            found += [f"{path}:{n}" for n in lowered if n in text]
        else:
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            text = data.decode("utf-8", errors="replace").lower()
            found += [f"{path}:{n}" for n in lowered if n in text]
    return found


def test_erasure_removes_the_person_everywhere_and_a_later_extract_does_not_bring_them_back(built, tiny_sample):
    from segmentation.airflow_setup import test_dag_run
    from segmentation.loading import load_new_files

    person = _person(tiny_sample, built)
    home = built.home
    assert _traces(home, person["needles"]), "before the erasure the person is there (the search can fail)"
    serving_before = built.serving.stat().st_ino

    dag_run = test_dag_run("gdpr_erasure", "2026-11-26",
                           {"requests": [{"email": person["email"].upper(), "request_id": "REQ-1"}]})

    assert str(dag_run.state).endswith("success")
    assert _traces(home, person["needles"]) == []
    assert built.serving.stat().st_ino != serving_before, "the serving file was swapped, not edited in place"
    con = duckdb.connect(str(built.warehouse), read_only=True)
    audit = con.execute("select request_id, requested_kind, customers_matched, rows_deleted from meta.erasure_audit"
                        ).fetchall()
    suppressed = con.execute("select identifier_kind, count(*) from meta.erasure_suppression group by 1").fetchall()
    customers = con.execute("select count(*) from marts.customer_segments").fetchone()[0]
    con.close()
    assert [(r, k, n) for r, k, n, _ in audit] == [("REQ-1", "email", 1)]
    counts = json.loads(audit[0][3])
    assert counts["raw.crm_customers"] >= 2 and counts["restricted.customer_pii"] == 1
    assert counts["marts.customer_segments"] == 1 and counts["serving:main.customer_segments"] == 1
    assert {k for k, _ in suppressed} == {"email", "phone", "crm", "anon", "order"}
    assert customers > 300, "only the person was erased"
    # the marketing tool is told whom to delete, by match hash only
    from segmentation.privacy import require_salt, salted_hash

    removals = list((built.audience_dir / "erasures").glob("*.csv"))
    assert len(removals) == 1
    assert salted_hash(require_salt("test"), person["email"].lower()) in removals[0].read_text()

    # a later CRM extract and event stream still contain the person (and one new customer)
    crm_ids = [v for t, v in person["ids"] if t == "crm"]
    anon = [v for t, v in person["ids"] if t == "anon"][0]
    new_crm = home / "landing" / "crm" / "crm_customers_2026-11-26_part0001.csv"
    with new_crm.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["crm_id", "first_name", "email", "phone", "email_opt_in", "updated_at"])
        w.writerow([crm_ids[0], "Back", person["email"], "", "yes", "2026-11-26T08:00:00Z"])
        w.writerow(["CRM-99999991", "New", "new.customer.9@example.org", "", "yes", "2026-11-26T08:00:00Z"])
    new_events = home / "landing" / "events" / "web_events_2026-11-26_part0001.jsonl"
    new_events.write_text(json.dumps({
        "event_id": "ev-new-1", "event_ts": "2026-11-26T09:00:00Z", "event_type": "page_view",
        "anonymous_id": anon, "session_id": "s-new-1", "tracking_consent": "yes"}) + "\n")

    report = load_new_files(built, batch_id="b2")

    assert {Path(f.path).name for f in report.files if f.status == "loaded"} == {new_crm.name, new_events.name}
    assert report.suppressed == {"raw.crm_customers": 1, "raw.web_events": 1}
    _dbt_build(built, home / "dbt")
    leftovers = [t for t in _traces(home, person["needles"]) if "/landing/" not in t]
    assert leftovers == [], "the erased person came back with a later extract"
    con = duckdb.connect(str(built.warehouse), read_only=True)
    assert con.execute("select count(*) from restricted.customer_identifiers where identifier_value = "
                       "'CRM-99999991'").fetchone()[0] == 1
    con.close()
