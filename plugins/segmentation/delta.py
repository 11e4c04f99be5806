"""A day of new extracts derived from delivered ones: for incremental runs in tests and benchmarks.

``write_new_day(landing, day)`` reads what is in ``landing`` and writes one new
file per source, dated ``day``, next to it (or into ``out``):

- events: a ``fraction`` of the delivered events again, as new events (new
  event and session ids) of the same visitors and customers; most are moved
  to ``day``, a ``late_share`` keeps its original, older timestamp (late
  data); plus ``redeliver`` existing events delivered again under their own
  id, on another device and out of their session (a correction): consented
  page views of sessions that keep other consented events, so the session
  they leave must be recomputed (its page views drop). The first of them
  loses its session, the others move to another session of the same visitor;
- orders: the lines of a ``fraction`` of the orders again, as new orders
  (mostly on ``day``, some late), plus ``redeliver`` existing lines delivered
  again as refunded;
- crm: ``redeliver`` CRM records updated on ``day`` (new city), one of them
  taking another record's email, which merges two customers in identity
  resolution (customer keys change).

Selection is by a hash of the ids and ``seed``, so it is deterministic.
Files are written under a temporary name and renamed, as the loader expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from segmentation.contracts import SOURCES


@dataclass(frozen=True)
class NewDay:
    files: dict[str, Path]
    rows: dict[str, int]


def _source_sql(landing: Path, source: str, first_file_only: bool = False) -> str:
    """All delivered files of a source (or only the first, for the few re-deliveries), as VARCHAR."""
    src = SOURCES[source]
    ext = "jsonl" if src.default_format == "jsonl" else "csv"
    files = sorted(p for p in (landing / source).glob(f"*.{ext}") if not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"{landing / source}: no delivered *.{ext} file to derive a new day from")
    listed = "[" + ", ".join(f"'{p}'" for p in (files[:1] if first_file_only else files)) + "]"
    if src.default_format == "jsonl":
        cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in src.column_names) + "}"
        return f"read_json({listed}, format = 'newline_delimited', columns = {cols})"
    return f"read_csv({listed}, all_varchar = true, header = true)"


def _pick(expr: str, seed: int, fraction: float) -> str:
    """A deterministic `fraction` of rows by a hash of `expr`."""
    return f"(hash({expr} || '#{seed}') % 1000000) < {int(fraction * 1_000_000)}"


def _shift(ts: str, day: date, late: str) -> str:
    """The timestamp moved to `day` (same time of day and offset), unless the row is late."""
    return f"case when {late} then {ts} else '{day.isoformat()}' || substr({ts}, 11) end"


def write_new_day(landing: Path, day: date, *, out: Path | None = None, fraction: float = 0.01,
                  late_share: float = 0.1, redeliver: int = 5, seed: int = 1) -> NewDay:
    out = out or landing
    tag = day.strftime("%Y%m%d")
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    files: dict[str, Path] = {}
    rows: dict[str, int] = {}
    try:
        ev = SOURCES["events"]
        late = _pick("event_id || 'late'", seed, late_share)
        replaced = {"event_id": f"event_id || '-{tag}'",
                    "event_ts": _shift("event_ts", day, late),
                    "session_id": f"case when session_id is null or session_id = '' then session_id "
                                  f"else session_id || '-{tag}' end"}
        new_cols = ", ".join(f"{replaced.get(c, c)} as {c}" for c in ev.column_names)
        moved_session = "case when pick = 1 then '' else other_session end as session_id"
        moved = ", ".join({"session_id": moved_session, "device_type": "'tablet' as device_type"}
                          .get(c, c) for c in ev.column_names)
        consented = "lower(trim(tracking_consent)) in ('true', 'yes', 'y', '1')"
        events_sql = f"""
            select {new_cols} from {_source_sql(landing, 'events')} where {_pick('event_id', seed, fraction)}
            union all
            select {moved} from (
                with delivered as (
                    select * from {_source_sql(landing, 'events', first_file_only=True)}
                    where session_id is not null and session_id <> ''
                      and anonymous_id is not null and anonymous_id <> ''
                ),
                sessions as (
                    select session_id, consented_events,
                           lead(session_id) over (partition by anonymous_id order by session_id) as other_session
                    from (select session_id, min(anonymous_id) as anonymous_id,
                                 count(*) filter (where {consented}) as consented_events
                          from delivered group by session_id)
                ),
                chosen as (
                    select delivered.*, sessions.other_session,
                           row_number() over (order by hash(delivered.event_id || '#{seed}')) as pick
                    from delivered inner join sessions on delivered.session_id = sessions.session_id
                    where lower(trim(delivered.event_type)) = 'page_view' and {consented}
                      and sessions.consented_events >= 2 and sessions.other_session is not null
                )
                select * from chosen where pick <= {redeliver} order by pick)"""
        files["events"] = _write(con, events_sql, out, "events", f"{ev.file_prefix}_{day.isoformat()}_part0001.jsonl")

        od = SOURCES["orders"]
        late = _pick("order_id || 'late'", seed, late_share)
        replaced = {"order_id": f"order_id || '-{tag}'", "order_ts": _shift("order_ts", day, late)}
        new_cols = ", ".join(f"{replaced.get(c, c)} as {c}" for c in od.column_names)
        refunded = ", ".join("'refunded' as status" if c == "status" else c for c in od.column_names)
        orders_sql = f"""
            select {new_cols} from {_source_sql(landing, 'orders')} where {_pick('order_id', seed, fraction)}
            union all
            select {refunded} from (
                select * from {_source_sql(landing, 'orders', first_file_only=True)} where status = 'completed'
                order by hash(order_id || line_number || '#{seed}') limit {redeliver})"""
        files["orders"] = _write(con, orders_sql, out, "orders", f"{od.file_prefix}_{day.isoformat()}_part0001.csv")

        crm = SOURCES["crm"]
        updated = {"city": "'Neustadt' as city", "updated_at": f"'{day.isoformat()}T12:00:00Z' as updated_at",
                   "email": "case when rank = 1 then other_email else email end as email"}
        crm_cols = ", ".join(updated.get(c, c) for c in crm.column_names)
        crm_sql = f"""
            select {crm_cols} from (
                select *, row_number() over (order by hash(crm_id || '#{seed}')) as rank,
                       lead(email) over (order by hash(crm_id || '#{seed}')) as other_email
                from (select * from {_source_sql(landing, 'crm', first_file_only=True)}
                      qualify row_number() over (partition by crm_id order by updated_at desc) = 1)
                where email is not null and email <> ''
                order by hash(crm_id || '#{seed}') limit {redeliver + 1})
            where rank <= {redeliver}"""
        files["crm"] = _write(con, crm_sql, out, "crm", f"{crm.file_prefix}_{day.isoformat()}_part0001.csv")
        for source, path in files.items():
            rows[source] = con.execute(
                f"select count(*) from {_source_sql_file(path, source)}").fetchone()[0]
    finally:
        con.close()
    return NewDay(files, rows)


def _source_sql_file(path: Path, source: str) -> str:
    if SOURCES[source].default_format == "jsonl":
        return f"read_json('{path}', format = 'newline_delimited')"
    return f"read_csv('{path}', all_varchar = true, header = true)"


def _write(con: duckdb.DuckDBPyConnection, sql: str, out: Path, source: str, name: str) -> Path:
    folder = out / source
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    tmp = folder / (name + ".tmp")
    fmt = "(format json)" if name.endswith(".jsonl") else "(header, delimiter ',')"
    con.execute(f"copy ({sql}) to '{tmp}' {fmt}")
    tmp.rename(final)
    return final
