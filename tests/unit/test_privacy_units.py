"""Privacy building blocks without a warehouse: salt, hashing, requests, holdout."""

from __future__ import annotations

import hashlib
import random

import duckdb
import pytest

from segmentation.audiences import holdout_bucket, holdout_bucket_sql
from segmentation.errors import ConfigError
from segmentation.erasure import parse_requests
from segmentation.privacy import normalize_phone, require_salt, salted_hash, sql_normalize_phone


def test_missing_or_short_salt_is_refused_with_a_message_that_says_how_to_set_it(monkeypatch):
    for var in ("SEGMENTS_PII_SALT", "SEGMENTS_PII_SALT_FILE", "AIRFLOW_VAR_SEGMENTS_PII_SALT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="SEGMENTS_PII_SALT"):
        require_salt("publishing")
    monkeypatch.setenv("SEGMENTS_PII_SALT", "short")
    with pytest.raises(ConfigError, match="at least 16"):
        require_salt("publishing")


def test_salt_can_come_from_a_file_or_an_airflow_variable_in_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SEGMENTS_PII_SALT", raising=False)
    monkeypatch.delenv("SEGMENTS_PII_SALT_FILE", raising=False)
    monkeypatch.setenv("AIRFLOW_VAR_SEGMENTS_PII_SALT", "v" * 20)
    assert require_salt("x") == "v" * 20
    salt_file = tmp_path / "salt"
    salt_file.write_text("f" * 32 + "\n")
    monkeypatch.setenv("SEGMENTS_PII_SALT_FILE", str(salt_file))
    assert require_salt("x") == "f" * 32


def test_python_and_duckdb_hash_and_normalise_identically():
    salt = "s" * 16
    con = duckdb.connect()
    for raw in ("030/1234567", "+49 30 1234567", "0049 30 1234567", "+49 (0)30 1234567"):
        e164 = normalize_phone(raw)
        assert e164 == con.execute(f"select {sql_normalize_phone('x')} from (select ? as x)", [raw]).fetchone()[0]
        assert salted_hash(salt, e164) == con.execute("select sha256(? || ?)", [salt, e164]).fetchone()[0]
    assert salted_hash(salt, "a@b.de") == hashlib.sha256(b"ssssssssssssssssa@b.de").hexdigest()


def test_erasure_requests_are_validated_before_anything_is_deleted():
    reqs = parse_requests([{"email": " Anna@Example.com "}, "phone:030/1234567", {"customer_key": "c_1"}])
    assert [(r.kind, r.normalized()) for r in reqs] == [
        ("email", "anna@example.com"), ("phone", "+49301234567"), ("customer_key", "c_1")]
    with pytest.raises(ConfigError, match="request 2: give exactly one of"):
        parse_requests([{"email": "a@b.c"}, {"email": "a@b.c", "phone": "030/1234567"}])
    with pytest.raises(ConfigError, match="request 1: phone '12' is not a valid phone"):
        parse_requests([{"phone": "12"}])
    with pytest.raises(ConfigError, match="not kind:value"):
        parse_requests(["anna@example.com"])


def test_holdout_is_deterministic_and_close_to_the_configured_share():
    rng = random.Random(1)
    keys = [f"c_{rng.getrandbits(64):016x}" for _ in range(20_000)]
    salt = "h" * 16
    first = [holdout_bucket(k, "vip", salt) < 0.1 for k in keys]
    again = [holdout_bucket(k, "vip", salt) < 0.1 for k in keys]
    assert first == again
    assert abs(sum(first) / len(keys) - 0.1) < 0.01
    # independent per segment: a customer is not held out of every segment at once
    other = [holdout_bucket(k, "active", salt) < 0.1 for k in keys]
    assert abs(sum(a and b for a, b in zip(first, other)) / len(keys) - 0.01) < 0.005


def test_the_export_computes_the_same_holdout_number_in_sql_as_in_python():
    # audiences.export_audiences flags holdouts in DuckDB; holdout_bucket is the definition
    rng = random.Random(2)
    keys = [f"c_{rng.getrandbits(64):016x}" for _ in range(5_000)] + ["ü-key", "", "k:with:colons"]
    salt = "s\u00e4lt'with quote" + "x" * 8
    con = duckdb.connect()
    con.execute("create table k (customer_key varchar, segment varchar)")
    con.executemany("insert into k values (?, ?)", [[k, seg] for k in keys for seg in ("vip", "at_risk")])
    got = con.execute(f"select customer_key, segment, {holdout_bucket_sql('customer_key', 'segment', salt)} "
                      f"from k").fetchall()
    assert len(got) == 2 * len(keys)
    assert all(bucket == holdout_bucket(k, seg, salt) for k, seg, bucket in got)  # bit for bit


def test_cli_erase_names_a_bad_request_in_one_line_and_exits_2(capsys):
    from segmentation.cli import main

    assert main(["erase", "--email", "anna.example.com"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: command line, request 1: email 'anna.example.com' is not a valid email"
