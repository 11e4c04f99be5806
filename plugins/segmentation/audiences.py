"""Audience exports for marketing tools: per segment and channel, consent-aware, with deltas and holdouts.

Every export run writes one folder under ``<exports>/runs/`` (built under a
temporary name, then renamed: a reader never sees half an export) with, for
every segment rule and every channel (email, sms):

- ``audience_<segment>_<channel>.csv`` and ``.parquet``: the customers of the
  segment who consented to the channel and have an address for it, as
  ``customer_key``, the salted hash to match on (``email_sha256`` /
  ``phone_sha256``), ``holdout`` and ``as_of_date``;
- ``delta_<segment>_<channel>.csv`` and ``.parquet``: changes since the previous
  export run (``change`` = added / removed), so a tool can sync deltas;
- ``manifest.json``: counts, SHA-256 of every file, the rule version (hash of
  ``vars.segment_rules``), the holdout share, as-of date and the previous export.

The holdout is deterministic: a customer is held out of a segment's campaigns
when ``sha256(customer_key || ':' || segment || ':' || salt)`` read as a number
in [0, 1) is below the share (``SEGMENTS_HOLDOUT_SHARE``, default 0.1). It is
stable across runs for as long as the salt is, independent of who else is in the
segment, and marked in the export (``holdout = true``) rather than left out, so
the tool can measure the control group.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import yaml

from segmentation.config import Settings
from segmentation.errors import ConfigError, PublishError
from segmentation.inprocess import release_inprocess_dbt
from segmentation.loading_sql import lit
from segmentation.privacy import match_keys_sql, require_salt

log = logging.getLogger(__name__)

CHANNELS: dict[str, str] = {"email": "email_sha256", "sms": "phone_sha256"}  # channel -> match column
HOLDOUT_ENV = "SEGMENTS_HOLDOUT_SHARE"
DEFAULT_HOLDOUT_SHARE = 0.1
LATEST = "latest.json"


@dataclass(frozen=True)
class AudienceExport:
    folder: Path
    manifest: dict

    def summary(self) -> str:
        lines = [f"audiences as of {self.manifest['as_of_date']} -> {self.folder}"]
        for a in self.manifest["audiences"]:
            lines.append(f"  {a['segment']:<16}{a['channel']:<6}{a['rows']:>8} customers "
                         f"({a['holdout_rows']} holdout), +{a['added']} -{a['removed']}")
        return "\n".join(lines)


def holdout_share() -> float:
    raw = os.environ.get(HOLDOUT_ENV, str(DEFAULT_HOLDOUT_SHARE))
    try:
        share = float(raw)
    except ValueError:
        raise ConfigError(f"{HOLDOUT_ENV}={raw!r}: not a number") from None
    if not 0 <= share < 1:
        raise ConfigError(f"{HOLDOUT_ENV}={share}: the holdout share must be in [0, 1)")
    return share


def holdout_bucket(customer_key: str, segment: str, salt: str) -> float:
    """Deterministic number in [0, 1) for (customer, segment)."""
    digest = hashlib.sha256(f"{customer_key}:{segment}:{salt}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def rule_version(dbt_project: Path) -> str:
    """SHA-256 of vars.segment_rules (canonical JSON): changes exactly when a rule changes."""
    path = dbt_project / "dbt_project.yml"
    try:
        rules = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars", {}).get("segment_rules")
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the segment rules: {exc}") from exc
    if not rules:
        raise ConfigError(f"{path}: no vars.segment_rules")
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _segments(dbt_project: Path) -> list[str]:
    rules = yaml.safe_load((dbt_project / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]["segment_rules"]
    return [r["name"] for r in sorted(rules, key=lambda r: r["priority"])]


def holdout_bucket_sql(customer_key: str, segment: str, salt: str) -> str:
    """SQL for ``holdout_bucket``: the same number in DuckDB (first 8 bytes of the SHA-256, big-endian, / 2**64).

    ``customer_key`` and ``segment`` are SQL expressions. The UBIGINT -> DOUBLE cast rounds
    to nearest like Python's int / int, and dividing by a power of two is exact, so the
    two agree bit for bit (tests/unit/test_privacy_units.py).
    """
    text = f"{customer_key} || ':' || {segment} || ':' || {lit(salt)}"
    return f"(('0x' || left(sha256({text}), 16))::ubigint::double / 18446744073709551616.0)"


def _members_sql(salt: str, share: float) -> str:
    """Segment members with consent per channel, match hashes and holdout flag, ordered by customer."""
    return f"""with keys as ({match_keys_sql(salt)}),
        consent as (
            select customer_key,
                   bool_or(channel = 'email' and granted) as email_granted,
                   bool_or(channel = 'sms' and granted) as sms_granted
            from marts.customer_consent group by customer_key)
        select s.customer_key, s.segment, s.as_of_date,
               coalesce(c.email_granted, false) as email_granted,
               coalesce(c.sms_granted, false) as sms_granted,
               k.email_sha256, k.phone_sha256,
               {holdout_bucket_sql('s.customer_key', 's.segment', salt)} < {float(share)!r}::double as holdout
        from marts.customer_segments s
        left join consent c using (customer_key)
        left join keys k using (customer_key)
        order by s.customer_key"""


def _open_members(settings: Settings, salt: str, share: float) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse holding the members in temp table ``_members``."""
    if not settings.warehouse.exists():
        raise PublishError(f"{settings.warehouse}: warehouse file does not exist; nothing to export")
    release_inprocess_dbt()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        con.execute("set enable_progress_bar = false")
        for rel in ("marts.customer_segments", "marts.customer_consent", "restricted.customer_pii"):
            schema, name = rel.split(".")
            if not con.execute("select count(*) from information_schema.tables where table_schema = ? "
                               "and table_name = ?", [schema, name]).fetchone()[0]:
                raise PublishError(f"{settings.warehouse}: missing {rel}; run dbt build first")
        con.execute(f"create temp table _members as {_members_sql(salt, share)}")
    except BaseException:
        con.close()
        raise
    return con


def _previous(exports: Path) -> Path | None:
    pointer = exports / LATEST
    if not pointer.exists():
        return None
    folder = exports / "runs" / json.loads(pointer.read_text())["folder"]
    return folder if folder.is_dir() else None


def _copy(con: duckdb.DuckDBPyConnection, select: str, folder: Path, stem: str, rows: int) -> list[dict]:
    """Write ``select`` as <stem>.csv and <stem>.parquet. In the CSV, booleans read True/False
    (as the pandas writer of earlier versions wrote them)."""
    csv_path, parquet_path = folder / f"{stem}.csv", folder / f"{stem}.parquet"
    con.execute(f"copy ({select}) to {lit(str(parquet_path))} (format parquet)")
    con.execute(f"copy (select * replace (case when holdout then 'True' else 'False' end as holdout) "
                f"from ({select})) to {lit(str(csv_path))} (format csv, header)")
    return [{"file": p.name, "format": p.suffix[1:], "rows": rows, "sha256": _sha256(p)}
            for p in (csv_path, parquet_path)]


def export_audiences(settings: Settings, run_id: str, share: float | None = None) -> AudienceExport:
    """Write this run's audiences, deltas and manifest; returns the folder and manifest."""
    salt = require_salt("exporting audiences (salted match hashes and holdout)")
    share = holdout_share() if share is None else share
    version = rule_version(settings.dbt_project)
    segments = _segments(settings.dbt_project)
    con = _open_members(settings, salt, share)
    try:
        as_of = con.execute("select max(as_of_date) from _members").fetchone()[0]
        as_of_text = str(as_of) if as_of is not None else "unknown"

        exports = settings.audience_dir
        runs = exports / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        previous = _previous(exports)
        name = f"{as_of_text}__{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}"
        final = runs / name
        tmp = runs / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        manifest = {
            "run_id": run_id, "as_of_date": as_of_text,
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rule_version": version, "holdout_share": share,
            "previous_export": previous.name if previous and previous.name != name else None,
            "audiences": [], "files": [],
        }
        try:
            for segment in segments:
                for channel, match in CHANNELS.items():
                    con.execute(
                        f"create or replace temp table _audience as select customer_key, "
                        f"{lit(segment)} as segment, {lit(channel)} as channel, {match}, holdout, "
                        f"{lit(as_of_text)} as as_of_date from _members "
                        f"where segment = {lit(segment)} and {channel}_granted and {match} is not null "
                        f"order by customer_key")
                    rows, holdout_rows = con.execute(
                        "select count(*), count(*) filter (where holdout) from _audience").fetchone()
                    stem = f"audience_{segment}_{channel}"
                    files = _copy(con, "select * from _audience order by customer_key", tmp, stem, rows)
                    before = (_previous_audience(previous, stem, match)
                              if previous and previous.name != name else None)
                    con.execute(f"create or replace temp table _delta as {_delta_sql(before, match)}")
                    added, removed = con.execute(
                        "select count(*) filter (where change = 'added'), count(*) filter (where change = 'removed') "
                        "from _delta").fetchone()
                    files += _copy(con, "select * from _delta order by change, customer_key", tmp,
                                   f"delta_{segment}_{channel}", added + removed)
                    manifest["files"] += files
                    manifest["audiences"].append({
                        "segment": segment, "channel": channel, "rows": rows, "holdout_rows": holdout_rows,
                        "added": added, "removed": removed,
                    })
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            shutil.rmtree(final, ignore_errors=True)  # a re-run of the same run id replaces its export
            os.replace(tmp, final)
            _point_latest(exports, name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        con.close()
    export = AudienceExport(final, manifest)
    log.info(export.summary())
    return export


def _point_latest(exports: Path, name: str) -> None:
    tmp = exports / f".{LATEST}.tmp"
    tmp.write_text(json.dumps({"folder": name}) + "\n", encoding="utf-8")
    os.replace(tmp, exports / LATEST)


def _previous_audience(previous: Path, stem: str, match: str) -> str:
    """SQL for the previous export's rows of this audience (customer_key, match hash, holdout)."""
    path = previous / f"{stem}.parquet"
    if not path.exists():  # segment or channel new since the previous export
        return f"select null::varchar as customer_key, null::varchar as {match}, null::boolean as holdout limit 0"
    return f"select customer_key, {match}, holdout from read_parquet({lit(str(path))})"


def _delta_sql(before: str | None, match: str) -> str:
    """Rows of ``_audience`` added since ``before`` and rows removed from it (all added without a previous export),
    ordered by change, then customer."""
    cols = f"customer_key, {match}, holdout"
    if before is None:
        return f"select {cols}, 'added' as change from _audience order by customer_key"
    return (f"with before as ({before}) "
            f"select {cols}, 'added' as change from _audience a "
            f"where not exists (select 1 from before b where b.customer_key = a.customer_key) "
            f"union all select {cols}, 'removed' from before b "
            f"where not exists (select 1 from _audience a where a.customer_key = b.customer_key) "
            f"order by change, customer_key")
