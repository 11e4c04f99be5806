"""The sample-data generator: deterministic, contract-exact, messy, and truthful about its segments."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from segmentation.contracts import CRM, EVENTS, ORDERS, SOURCES
from segmentation.generator import generate

AS_OF = date(2026, 11, 25)


@pytest.fixture(scope="module")
def sample(tiny_sample) -> Path:
    """The session's tiny sample (conftest: seed 7, as of 2026-11-25); read-only."""
    return tiny_sample


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _files(out: Path, source: str) -> list[Path]:
    return sorted((out / "landing" / source).glob("*"))


_PARSED: dict[tuple[Path, str], list] = {}


def _parsed(out: Path, source: str) -> list:
    """Rows of every file of a source, parsed once per sample."""
    if (out, source) not in _PARSED:
        if source == "events":
            rows = [json.loads(line) for f in _files(out, source) for line in f.read_text().splitlines()]
        else:
            rows = [r for f in _files(out, source) for r in _rows(f)]
        _PARSED[(out, source)] = rows
    return _PARSED[(out, source)]


def _crm(out: Path) -> list[dict[str, str]]:
    return _parsed(out, "crm")


def _orders(out: Path) -> list[dict[str, str]]:
    return _parsed(out, "orders")


def _events(out: Path) -> list[dict]:
    return _parsed(out, "events")


def _utc(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone.utc)


# ---------------------------------------------------------------- determinism and layout

def test_same_size_seed_and_date_give_byte_identical_files(sample, tmp_path):
    a, b = sample, tmp_path / "b"
    generate("tiny", 7, AS_OF, b)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_another_seed_gives_other_data(sample, tmp_path):
    generate("tiny", 8, AS_OF, tmp_path)
    name = f"orders/order_lines_{AS_OF}_part0001.csv"
    assert (sample / "landing" / name).read_bytes() != (tmp_path / "landing" / name).read_bytes()


def test_files_are_named_by_contract_and_leave_no_temp_files(sample):
    for source in SOURCES.values():
        names = [p.name for p in _files(sample, source.name)]
        assert names, source.name
        ext = "jsonl" if source.default_format == "jsonl" else "csv"
        assert all(re.fullmatch(rf"{source.file_prefix}_{AS_OF}_part\d{{4}}\.{ext}", n) for n in names), names
    assert not [p for p in sample.rglob("*") if p.name.endswith(".tmp")]


def test_columns_match_the_contracts_exactly(sample):
    for f in _files(sample, "crm"):
        assert next(csv.reader(open(f, encoding="utf-8"))) == CRM.column_names
    for f in _files(sample, "orders"):
        assert next(csv.reader(open(f, encoding="utf-8"))) == ORDERS.column_names
    for f in _files(sample, "events"):
        assert all(list(e) == EVENTS.column_names for e in _events(sample))


def test_keys_are_unique_inside_each_file_and_required_columns_filled(sample):
    assert len(_files(sample, "events")) == 1  # so the parsed events are exactly one file
    for source in SOURCES.values():
        for f in _files(sample, source.name):
            rows = _events(sample) if source.name == "events" else _rows(f)
            keys = [tuple(r[k] for k in source.key) for r in rows]
            assert len(keys) == len(set(keys)), f
            for col in source.required_columns:
                assert all(r[col] not in (None, "") for r in rows), (f, col)


def test_nothing_happens_after_as_of(sample):
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=timezone.utc) + timedelta(days=1)
    assert all(_utc(r["order_ts"]) < end for r in _orders(sample))
    assert all(_utc(e["event_ts"]) < end for e in _events(sample))
    assert all(_utc(r["updated_at"]) < end for r in _crm(sample))


def test_manifest_lists_every_file_with_rows_and_checksum(sample):
    manifest = json.loads((sample / "ground_truth/manifest.json").read_text())
    assert (manifest["size"], manifest["seed"], manifest["as_of"]) == ("tiny", 7, AS_OF.isoformat())
    listed = {f["path"] for f in manifest["files"]}
    landed = {str(p.relative_to(sample)) for p in (sample / "landing").rglob("*") if p.is_file()}
    assert landed <= listed
    assert manifest["rows"]["crm"] == len(_crm(sample))
    assert manifest["rows"]["orders"] == len(_orders(sample))
    assert manifest["rows"]["events"] == len(_events(sample))


def test_if_missing_skips_an_existing_sample_and_regenerates_another(tmp_path, caplog):
    caplog.set_level("INFO", logger="segmentation.generator")
    first = generate("tiny", 3, AS_OF, tmp_path, progress=True)
    assert any("part 1/1" in m for m in caplog.messages), "progress names each part"
    assert first.seconds > 0 and first.rows["events"] > 0
    target = tmp_path / first.files[0].path
    before = target.stat().st_mtime_ns
    again = generate("tiny", 3, AS_OF, tmp_path, if_missing=True)
    assert again.skipped and target.stat().st_mtime_ns == before
    assert "nothing to do" in again.summary()
    other = generate("tiny", 4, AS_OF, tmp_path, if_missing=True)
    assert not other.skipped
    assert json.loads((tmp_path / "ground_truth/manifest.json").read_text())["seed"] == 4


def test_unknown_size_is_refused(tmp_path):
    from segmentation.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown size"):
        generate("huge", 1, AS_OF, tmp_path)


def test_jsonl_writer_escapes_quotes_backslashes_and_newlines(tmp_path):
    import pyarrow as pa

    from segmentation.generator.render import write_jsonl_atomic

    values = ['say "hi"', "back\\slash", "two\nlines", None, "Zoë"]
    write_jsonl_atomic(pa.table({"v": pa.array(values, pa.string())}), tmp_path / "x.jsonl")
    lines = (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["v"] for line in lines] == values


# ---------------------------------------------------------------- the mess

def test_crm_dates_come_in_every_accepted_format(sample):
    patterns = {"YYYY-MM-DD": r"\d{4}-\d{2}-\d{2}", "DD.MM.YYYY": r"\d{2}\.\d{2}\.\d{4}",
                "MM/DD/YYYY": r"\d{2}/\d{2}/\d{4}", "DD Mon": r"\d{2} [A-Z][a-z]{2} \d{4}"}
    values = [r[c] for r in _crm(sample) for c in ("birth_date", "signup_date") if r[c]]
    for name, pattern in patterns.items():
        assert sum(bool(re.fullmatch(pattern, v)) for v in values) >= 3, name
    assert all(any(re.fullmatch(p, v) for p in patterns.values()) for v in values)


def test_phones_emails_countries_and_gaps_are_messy(sample):
    crm = _crm(sample)
    phones = [r["phone"] for r in crm if r["phone"]]
    for pattern in (r"\+\d+ \d+ \d{7}", r"0\d+/\d{7}", r"\(0\d+\) \d{3}-\d{4}", r"00\d{8,}"):
        assert sum(bool(re.fullmatch(pattern, p)) for p in phones) >= 3, pattern
    emails = [r["email"] for r in crm if r["email"]]
    assert sum(e != e.strip() for e in emails) >= 3
    assert sum(e.strip() != e.strip().lower() for e in emails) >= 3
    countries = {r["country"] for r in crm}
    assert {"DE", "Germany"} <= countries
    for col in ("phone", "birth_date", "email", "country"):
        assert sum(r[col] == "" for r in crm) >= 2, col


def test_duplicate_people_and_later_updates_are_in_the_crm_extract(sample):
    dups = _rows(sample / "ground_truth/crm_duplicates.csv")
    kinds = {d["match_kind"] for d in dups}
    assert kinds == {"same_phone_other_format", "fuzzy_only", "same_email_other_case"}
    crm = {r["crm_id"]: r for r in _rows(_files(sample, "crm")[0])}
    digits = lambda p: re.sub(r"\D", "", p).lstrip("0")  # noqa: E731
    for d in dups:
        a, b = crm[d["crm_id"]], crm[d["duplicate_crm_id"]]
        assert (a["first_name"], a["last_name"]) != (b["first_name"], b["last_name"]) or \
            a["first_name"].lower() != b["first_name"].lower() or a["last_name"] != b["last_name"]
        if d["match_kind"] == "same_phone_other_format":
            assert a["phone"] != b["phone"] and digits(a["phone"])[-7:] == digits(b["phone"])[-7:]
        if d["match_kind"] == "same_email_other_case":
            assert a["email"].strip().lower() == b["email"].strip().lower()
        if d["match_kind"] == "fuzzy_only":
            assert a["email"].strip().lower() != b["email"].strip().lower() and b["phone"] == ""
    updates = _rows(_files(sample, "crm")[-1])
    assert len(_files(sample, "crm")) >= 2 and updates
    for u in updates:
        assert _utc(u["updated_at"]) > _utc(crm[u["crm_id"]]["updated_at"])


def test_orders_have_guests_statuses_channels_currencies_and_offsets(sample):
    orders = _orders(sample)
    crm_emails = {r["email"].strip().lower() for r in _crm(sample) if r["email"]}
    guests = [r for r in orders if not r["crm_id"]]
    assert any(r["email"].strip().lower() in crm_emails and r["email"].strip() != r["email"].strip().lower()
               for r in guests), "a guest checkout by a CRM person, email in another case"
    assert any(r["email"].strip().lower() not in crm_emails for r in guests), "a guest unknown to the CRM"
    assert {r["status"] for r in orders} == {"completed", "cancelled", "refunded"}
    assert {r["channel"] for r in orders} == {"web", "app", "store", ""}
    assert {r["currency"] for r in orders} == {"EUR", "USD", "GBP"}
    suffixes = {r["order_ts"][19:] for r in orders}
    assert {"Z", "+01:00", "-05:00"} <= suffixes


def test_events_show_logins_anonymous_visitors_email_events_and_no_consent(sample):
    events = _events(sample)
    records = _rows(sample / "ground_truth/records.csv")
    person_cookies = {r["record_key"] for r in records if r["source"] == "events"}
    logins = [e for e in events if e["event_type"] == "login"]
    assert logins and all(e["anonymous_id"] and e["user_id"] for e in logins)
    anonymous_first = {e["session_id"] for e in events if e["user_id"] is None and e["event_type"] == "page_view"}
    assert any(e["session_id"] in anonymous_first for e in logins), "visitors log in after browsing anonymously"
    strangers = {e["anonymous_id"] for e in events if e["anonymous_id"] and e["anonymous_id"] not in person_cookies}
    assert len(strangers) >= 10, "anonymous visitors who never log in"
    mail = [e for e in events if e["event_type"] in ("email_open", "email_click")]
    assert mail and all(e["email"] and not e["anonymous_id"] and not e["session_id"] for e in mail)
    assert {e["event_type"] for e in events} == set(EVENTS.columns[2].accepted)
    assert sum(e["tracking_consent"] in ("false", "no", "n", "0") for e in events) >= 10


def test_tracking_is_never_refused_by_vips_or_cart_abandoners(sample):
    persons = _rows(sample / "ground_truth/persons.csv")
    refusing = [p for p in persons if p["tracking_consent"] == "false"]
    assert refusing
    assert not [p for p in refusing if p["expected_segment"] in ("vip", "cart_abandoner")]


def test_purchases_of_logged_in_web_orders_appear_as_purchase_events(sample):
    events = _events(sample)
    purchase_orders = {e["order_id"] for e in events if e["event_type"] == "purchase"}
    web_orders = {r["order_id"] for r in _orders(sample) if r["crm_id"] and r["channel"] in ("web", "app")
                  and (AS_OF - _utc(r["order_ts"]).date()).days <= 400}
    assert web_orders and web_orders <= purchase_orders


# ---------------------------------------------------------------- ground truth

def test_every_crm_record_order_and_person_cookie_is_in_records(sample):
    records = _rows(sample / "ground_truth/records.csv")
    persons = {p["person_id"] for p in _rows(sample / "ground_truth/persons.csv")}
    keys = {(r["source"], r["record_key"]) for r in records}
    assert all(r["person_id"] in persons for r in records)
    assert {("crm", r["crm_id"]) for r in _crm(sample)} <= keys
    assert {("orders", r["order_id"]) for r in _orders(sample)} <= keys
    logged = {e["anonymous_id"] for e in _events(sample) if e["user_id"]}
    assert {("events", c) for c in logged} <= keys
    crm_ids = {c for p in _rows(sample / "ground_truth/persons.csv") for c in p["crm_ids"].split(";") if c}
    assert crm_ids == {r["crm_id"] for r in _crm(sample)}


def test_segment_shares_are_roughly_as_specified(sample):
    persons = _rows(sample / "ground_truth/persons.csv")
    share = lambda s: sum(p["expected_segment"] == s for p in persons) / len(persons)  # noqa: E731
    assert 0.02 <= share("vip") <= 0.05
    assert 0.06 <= share("new") <= 0.10
    assert 0.05 <= share("cart_abandoner") <= 0.09
    assert sum(p["is_guest"] == "true" for p in persons) >= 10


RULES_SQL = """
with person_of as (select source, record_key, person_id from read_csv('{gt}/records.csv', all_varchar=true)),
orders as (
    select distinct o.order_id, p.person_id,
           cast(cast(o.order_ts as timestamptz) at time zone 'UTC' as date) as d, o.status
    from read_csv('{land}/orders/*.csv', all_varchar=true) o
    join person_of p on p.source = 'orders' and p.record_key = o.order_id),
completed as (select * from orders where status = 'completed'),
per_order as (
    select person_id,
           count(*) filter (where d > date '{as_of}' - 30) as orders_30d,
           date '{as_of}' - max(d) as since_last, date '{as_of}' - min(d) as since_first
    from completed group by 1),
ev as (
    select e.*, cast(cast(e.event_ts as timestamptz) at time zone 'UTC' as date) as d,
           coalesce(pc.person_id, pu.person_id, pe.person_id) as person_id
    from read_json('{land}/events/*.jsonl', columns={cols}) e
    left join person_of pc on pc.source = 'events' and pc.record_key = e.anonymous_id
    left join person_of pu on pu.source = 'crm' and pu.record_key = e.user_id
    left join (select person_id, unnest(string_split(emails, ';')) as email
               from read_csv('{gt}/persons.csv', all_varchar=true)) pe
           on e.email is not null and pe.email = lower(trim(e.email))),
sessions as (
    select person_id, session_id, min(d) as d,
           bool_or(event_type = 'add_to_cart') and not bool_or(event_type = 'purchase') as abandoned
    from ev where session_id is not null and person_id is not null group by 1, 2),
engagement as (
    select p.person_id,
        (select count(*) from sessions s where s.person_id = p.person_id and s.d > date '{as_of}' - 30)
      + 0.5 * (select count(*) from ev where ev.person_id = p.person_id and event_type = 'email_open' and d > date '{as_of}' - 90)
      + 2 * (select count(*) from ev where ev.person_id = p.person_id and event_type = 'email_click' and d > date '{as_of}' - 90)
      + 0.1 * (select count(*) from ev where ev.person_id = p.person_id and event_type = 'page_view' and d > date '{as_of}' - 30)
        as score,
        (select count(*) from sessions s where s.person_id = p.person_id and s.d > date '{as_of}' - 30 and abandoned) as carts
    from read_csv('{gt}/persons.csv', all_varchar=true) p),
features as (
    select e.person_id, coalesce(o.orders_30d, 0) as orders_30d, o.since_last, o.since_first, e.carts,
           percent_rank() over (order by e.score) as pct
    from engagement e left join per_order o using (person_id))
select person_id,
    case when orders_30d > 3 and since_last < 30 and pct >= 0.8 then 'vip'
         when since_first < 30 then 'new'
         when carts > 0 and orders_30d = 0 then 'cart_abandoner'
         when since_last < 90 then 'active'
         when since_last < 180 then 'at_risk'
         when since_last >= 180 then 'dormant'
         else 'prospect' end as segment,
    orders_30d, pct
from features
"""


def test_expected_segments_agree_with_an_independent_reading_of_the_rules(sample):
    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in EVENTS.column_names) + "}"
    sql = RULES_SQL.format(gt=sample / "ground_truth", land=sample / "landing", as_of=AS_OF, cols=cols)
    computed = {row[0]: row[1:] for row in duckdb.sql(sql).fetchall()}
    persons = _rows(sample / "ground_truth/persons.csv")
    disagree = [(p["person_id"], p["expected_segment"], computed[p["person_id"]]) for p in persons
                if p["expected_segment"] != computed[p["person_id"]][0]]
    assert not disagree, disagree[:10]
    assert all(orders_30d <= 3 for segment, orders_30d, _ in computed.values() if segment != "vip")
    vip_pct = [pct for segment, _, pct in computed.values() if segment == "vip"]
    assert vip_pct and min(vip_pct) >= 0.9, "VIPs are clearly in the top 20% of engagement"
