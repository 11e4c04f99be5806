"""Build a small warehouse with the segment marts, for validation / alert / report tests.

The tables follow the contract of marts.customer_profile / customer_segments
(and, with ``history=True``, the history marts of issue 5: segment_history,
segment_size_history, segment_transitions, plus the RFM columns), filled with
seeded random data whose segments differ on purpose.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import duckdb

AS_OF = date(2026, 11, 25)
RFM_SEGMENTS = ["champions", "loyal", "potential_loyalist", "new_customers", "promising", "need_attention",
                "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost", "no_purchase"]
# segment -> (customers, mean spend, mean orders, mean engagement)
DEFAULT_SEGMENTS = {
    "vip": (40, 1200.0, 14, 40.0),
    "new": (80, 200.0, 1, 8.0),
    "active": (300, 350.0, 4, 12.0),
    "dormant": (200, 90.0, 1, 2.0),
    "prospect": (250, 0.0, 0, 3.0),
    "tiny_one": (3, 300.0, 3, 10.0),
}


def _insert(con, table: str, rows: list) -> None:
    """Bulk insert through a DataFrame (executemany is one statement per row)."""
    import pandas as pd

    columns = [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
        "order by ordinal_position", [table]).fetchall()]
    frame = pd.DataFrame([list(r) for r in rows], columns=columns).astype(object)  # noqa: F841 (read by DuckDB)
    con.execute(f"insert into {table} select * from frame")


def _profile_rows(segments: dict, seed: int, differ: bool = True):
    rng = random.Random(seed)
    rows = []
    key = 0
    for segment, (n, spend, orders, engagement) in segments.items():
        for _ in range(n):
            key += 1
            if not differ:  # every segment drawn from one distribution
                spend, orders, engagement = 300.0, 3, 10.0
            o365 = max(0, int(rng.gauss(orders, max(orders, 1) * 0.4))) if orders else 0
            rev = round(max(0.0, rng.gauss(spend, spend * 0.3)), 2) if o365 else 0.0
            o90 = min(o365, rng.randint(0, max(o365, 0)))
            rows.append((f"c{key:05d}", segment, rev, o365, o90, rev * 1.5, o365 + 1 if o365 else 0,
                         round(max(0.0, rng.gauss(engagement, engagement * 0.3)), 2),
                         rng.randint(0, int(engagement)), rng.randint(0, 3)))
    return rows


def build_marts(path: Path, segments: dict | None = None, seed: int = 3, differ: bool = True,
                history: bool = False, as_of: date = AS_OF) -> Path:
    """Write marts.customer_profile / customer_segments / segment_summary (and history marts) to ``path``."""
    segments = segments or DEFAULT_SEGMENTS
    rows = _profile_rows(segments, seed, differ)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("""create or replace table marts.customer_profile (
            customer_key varchar, revenue_365d double, orders_365d integer, orders_90d integer,
            lifetime_revenue double, lifetime_orders integer, engagement_score double, sessions_30d integer,
            email_clicks_90d integer, as_of_date date)""")
        _insert(con, "marts.customer_profile",
                [(r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], as_of) for r in rows])
        rfm_cols = ", rfm_recency_score integer, rfm_frequency_score integer, rfm_monetary_score integer, " \
                   "rfm_score varchar, rfm_segment varchar" if history else ""
        con.execute(f"""create or replace table marts.customer_segments (
            customer_key varchar, segment varchar, segment_priority integer, segment_rule varchar,
            as_of_date date{rfm_cols})""")
        priority = {s: i + 1 for i, s in enumerate(segments)}
        rng = random.Random(seed + 1)
        seg_rows = []
        for r in rows:
            base = [r[0], r[1], priority[r[1]], "rule", as_of]
            if history:
                if r[3] == 0:
                    base += [None, None, None, None, "no_purchase"]
                else:
                    rs, fs, ms = rng.randint(1, 5), min(5, 1 + r[3] // 3), rng.randint(1, 5)
                    base += [rs, fs, ms, f"{rs}{fs}{ms}", RFM_SEGMENTS[(rs + fs) % 11]]
            seg_rows.append(base)
        _insert(con, "marts.customer_segments", seg_rows)
        con.execute("""create or replace table marts.segment_summary as
            select s.segment, min(s.segment_priority) as segment_priority, count(*) as customers,
                   count(*) / sum(count(*)) over () as share, avg(p.revenue_365d) as avg_revenue_365d,
                   avg(p.orders_365d) as avg_orders_365d, max(s.as_of_date) as as_of_date
            from marts.customer_segments s join marts.customer_profile p using (customer_key)
            group by s.segment""")
        if history:
            _history(con, as_of, list(segments), seed)
    finally:
        con.close()
    return path


def _history(con, as_of: date, names: list[str], seed: int) -> None:
    rng = random.Random(seed + 2)
    dates = [as_of - timedelta(days=7 * i) for i in range(5, -1, -1)]
    con.execute("""create or replace table marts.segment_size_history (
        as_of_date date, segment varchar, customers bigint, share double)""")
    current = dict(con.execute("select segment, count(*) from marts.customer_segments group by 1").fetchall())
    for d in dates:
        sizes = {s: current[s] if d == as_of else max(1, int(current[s] * rng.uniform(0.8, 1.2))) for s in names}
        total = sum(sizes.values())
        _insert(con, "marts.segment_size_history", [(d, s, n, n / total) for s, n in sizes.items()])
    con.execute("""create or replace table marts.segment_transitions (
        from_as_of_date date, to_as_of_date date, from_segment varchar, to_segment varchar, customers bigint)""")
    for prev, cur in zip(dates, dates[1:]):
        _insert(con, "marts.segment_transitions", [(prev, cur, a, b, (current[b] * 3 if a == b else rng.randint(0, 12)))
                         for a in names for b in names])
