"""The same RFM and rule segments in plain pandas, the way most teams start.

    .venv/bin/python bench/pandas_baseline.py --landing DIR/landing --as-of 2026-11-25 \
        --out /tmp/pandas_segments.parquet [--json result.json]

Reads every raw extract with pandas (CSV with ``read_csv``, JSON lines with
``read_json(lines=True)``), resolves identities, computes the profile features
and the default segment rules of docs/segments.md (priority order, first match
wins), plus RFM quintiles (recency = days since last completed order, frequency
= lifetime completed orders, monetary = lifetime revenue; 5 = best).

What it does NOT do that the dbt pipeline does (so its numbers are a floor for
pandas, not an equal):
- identity is deterministic on crm_id / email / order only (plus login
  anonymous_id -> crm_id and email events by address); no phone links;
  an email tied to more than 5 CRM ids links nobody (as in the pipeline);
- no validation, no rejects, no quality gates, no persistence, no tests;
- events are reduced per file (sessions, email events, logins) so 17 GB of
  JSON fits in memory: a session split across files is re-aggregated, but an
  event delivered twice in two files is counted twice (the generator delivers
  each event once).

customer_key is built exactly like the pipeline's (``'c_' || md5(min crm id,
else min email, else 'order:' || min order id)``), so the result joins the
pipeline's ``marts.customer_segments`` on customer_key for an agreement count
(bench/run.py does that).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

EUR_RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}
MAX_CRM_IDS_PER_EMAIL = 5
EVENT_COLUMNS = ["event_ts", "event_type", "anonymous_id", "user_id", "email", "session_id", "device_type"]
RULES = [  # docs/segments.md, priority order
    ("vip", lambda p: (p.orders_30d > 3) & (p.days_since_last_order < 30) & (p.engagement_percentile >= 0.8)),
    ("new", lambda p: p.days_since_first_order < 30),
    ("cart_abandoner", lambda p: (p.carts_abandoned_30d > 0) & (p.orders_30d == 0)),
    ("active", lambda p: p.days_since_last_order < 90),
    ("at_risk", lambda p: p.days_since_last_order < 180),
    ("dormant", lambda p: p.days_since_last_order >= 180),
    ("prospect", lambda p: pd.Series(True, index=p.index)),
]


def _blank(s: pd.Series) -> pd.Series:
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def _email(s: pd.Series) -> pd.Series:
    return _blank(s).str.lower()


def _utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601").dt.tz_localize(None)


def _files(landing: Path, source: str) -> list[Path]:
    folder = landing / source
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []


def read_crm(landing: Path) -> pd.DataFrame:
    crm = pd.concat([pd.read_csv(p, dtype=str, usecols=["crm_id", "email", "updated_at"])
                     for p in _files(landing, "crm")], ignore_index=True)
    crm["crm_id"] = _blank(crm["crm_id"])
    crm["email"] = _email(crm["email"])
    crm["updated_at"] = _utc(crm["updated_at"])
    crm = crm.dropna(subset=["crm_id"]).sort_values("updated_at", na_position="first")
    return crm.drop_duplicates("crm_id", keep="last")  # newest version wins


def read_orders(landing: Path) -> pd.DataFrame:
    lines = pd.concat([pd.read_csv(p, dtype=str, usecols=["order_id", "order_ts", "crm_id", "email", "status",
                                                           "channel", "currency", "quantity", "unit_price",
                                                           "discount_amount"])
                       for p in _files(landing, "orders")], ignore_index=True)
    lines["crm_id"] = _blank(lines["crm_id"])
    lines["email"] = _email(lines["email"])
    lines["status"] = lines["status"].str.strip().str.lower()
    net = (pd.to_numeric(lines["quantity"], errors="coerce") * pd.to_numeric(lines["unit_price"], errors="coerce")
           - pd.to_numeric(lines["discount_amount"], errors="coerce").fillna(0))
    rate = lines["currency"].str.strip().str.upper().map(EUR_RATES)
    lines["completed"] = lines["status"] == "completed"
    lines["revenue_eur"] = (net * rate).where(lines["completed"], 0.0)
    lines["order_ts"] = _utc(lines["order_ts"])
    orders = lines.groupby("order_id", sort=False).agg(
        order_ts=("order_ts", "min"), crm_id=("crm_id", "max"), email=("email", "max"),
        is_completed=("completed", "any"), revenue_eur=("revenue_eur", "sum")).reset_index()
    orders["order_date"] = orders["order_ts"].dt.normalize()
    return orders


def reduce_events(landing: Path, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Per file: logins, session partial aggregates and session identifiers, email events; then combined."""
    logins, sessions, session_ids, emails = [], [], [], []
    start_90 = as_of - pd.Timedelta(days=90)
    for path in _files(landing, "events"):
        ev = pd.read_json(path, lines=True, engine="pyarrow")[EVENT_COLUMNS]
        for col in ("anonymous_id", "user_id", "session_id", "device_type", "event_type"):
            ev[col] = _blank(ev[col])
        ev["email"] = _email(ev["email"])
        ev["event_type"] = ev["event_type"].str.lower()
        ev["event_ts"] = _utc(ev["event_ts"].astype("string"))
        login = ev[(ev.event_type == "login") & ev.user_id.notna() & ev.anonymous_id.notna()]
        logins.append(login[["anonymous_id", "user_id"]].drop_duplicates())
        web = ev[ev.session_id.notna()]
        sessions.append(web.assign(
            page_view=(web.event_type == "page_view").astype("int64"),
            add_to_cart=web.event_type == "add_to_cart", purchase=web.event_type == "purchase",
        ).groupby("session_id", sort=False).agg(
            start_ts=("event_ts", "min"), device_type=("device_type", "max"), page_views=("page_view", "sum"),
            add_to_cart=("add_to_cart", "any"), purchase=("purchase", "any")).reset_index())
        session_ids.append(web[["session_id", "user_id", "anonymous_id", "email"]].drop_duplicates())
        mail = ev[ev.event_type.isin(["email_open", "email_click"])]
        mail = mail[(mail.event_ts.dt.normalize() > start_90) & (mail.event_ts.dt.normalize() <= as_of)]
        emails.append(mail.groupby(["user_id", "anonymous_id", "email", "event_type"], dropna=False)
                      .size().rename("events").reset_index())
        del ev, web, mail, login
    sess = pd.concat(sessions, ignore_index=True).groupby("session_id", sort=False).agg(
        start_ts=("start_ts", "min"), device_type=("device_type", "max"), page_views=("page_views", "sum"),
        add_to_cart=("add_to_cart", "any"), purchase=("purchase", "any")).reset_index()
    return {
        "logins": pd.concat(logins, ignore_index=True).drop_duplicates(),
        "sessions": sess,
        "session_ids": pd.concat(session_ids, ignore_index=True).drop_duplicates(),
        "emails": pd.concat(emails, ignore_index=True),
    }


def resolve_identity(crm: pd.DataFrame, orders: pd.DataFrame, logins: pd.DataFrame) -> pd.DataFrame:
    """Connected components over crm/email/order nodes; one row per node with its customer_key."""
    node_ids = pd.concat([
        "crm:" + crm["crm_id"], "email:" + crm["email"].dropna(), "order:" + orders["order_id"].astype("string"),
        "crm:" + orders["crm_id"].dropna(), "email:" + orders["email"].dropna(), "crm:" + logins["user_id"],
    ], ignore_index=True).drop_duplicates().reset_index(drop=True)
    codes = pd.Series(np.arange(len(node_ids)), index=pd.Index(node_ids))

    crm_email = pd.concat([crm[["crm_id", "email"]], orders[["crm_id", "email"]]]).dropna().drop_duplicates()
    shared = crm_email.groupby("email")["crm_id"].nunique()
    excluded = set("email:" + shared[shared > MAX_CRM_IDS_PER_EMAIL].index)
    pairs = [
        ("crm:" + crm["crm_id"], "email:" + crm["email"]),
        ("order:" + orders["order_id"].astype("string"), "crm:" + orders["crm_id"]),
        ("order:" + orders["order_id"].astype("string"), "email:" + orders["email"]),
    ]
    a = np.concatenate([codes.reindex(x[(x.notna()) & (y.notna()) & ~y.isin(excluded)]).to_numpy() for x, y in pairs])
    b = np.concatenate([codes.reindex(y[(x.notna()) & (y.notna()) & ~y.isin(excluded)]).to_numpy() for x, y in pairs])
    labels = np.arange(len(node_ids))
    while True:  # min-label propagation with pointer jumping until stable
        m = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, m)
        np.minimum.at(labels, b, m)
        labels = labels[labels]
        if np.array_equal(labels, before):
            break
    nodes = pd.DataFrame({"node_id": node_ids, "component": labels})
    nodes["node_type"] = nodes.node_id.str.split(":", n=1).str[0]
    nodes["node_value"] = nodes.node_id.str.split(":", n=1).str[1]
    crm_records = set("crm:" + crm["crm_id"])
    nodes["is_crm_record"] = nodes.node_id.isin(crm_records)
    per = nodes.groupby("component").agg(crm_records=("is_crm_record", "sum"))
    for kind in ("crm", "email", "order"):
        per[f"min_{kind}"] = nodes[nodes.node_type == kind].groupby("component")["node_value"].min()
    per["orders"] = nodes[nodes.node_type == "order"].groupby("component").size()
    per = per[(per.crm_records > 0) | (per.orders.fillna(0) > 0)]
    basis = per.min_crm.fillna(per.min_email).fillna("order:" + per.min_order.astype("string"))
    per["customer_key"] = ["c_" + hashlib.md5(str(v).encode()).hexdigest() for v in basis]
    nodes = nodes.merge(per[["customer_key"]], left_on="component", right_index=True, how="left")
    return nodes[["node_id", "node_type", "node_value", "customer_key"]]


def profile_and_segments(crm, orders, events, nodes, as_of: pd.Timestamp) -> pd.DataFrame:
    key = nodes.dropna(subset=["customer_key"]).set_index("node_id")["customer_key"]
    customers = pd.DataFrame({"customer_key": key.unique()})
    day = pd.Timedelta(days=1)

    orders = orders.assign(customer_key=("order:" + orders.order_id.astype("string")).map(key))
    orders = orders[orders.customer_key.notna() & (orders.order_date <= as_of)]
    done = orders[orders.is_completed]
    age = (as_of - done.order_date) // day
    of = done.assign(o30=age < 30, o90=age < 90, o365=age < 365).groupby("customer_key").agg(
        first_order=("order_date", "min"), last_order=("order_date", "max"), orders_30d=("o30", "sum"),
        lifetime_orders=("order_id", "size"), lifetime_revenue=("revenue_eur", "sum"))

    # an anonymous id is the customer of the CRM id it logged in as (the smallest, if several)
    anon = events["logins"].assign(customer_key=("crm:" + events["logins"].user_id).map(key)).dropna()
    anon_key = anon.groupby("anonymous_id")["customer_key"].max()

    def event_key(df: pd.DataFrame) -> pd.Series:
        k = ("crm:" + df.user_id).map(key)
        k = k.fillna(df.anonymous_id.map(anon_key))
        return k.fillna(("email:" + df.email).map(key))

    sid = events["session_ids"]
    sid = sid.assign(customer_key=event_key(sid)).groupby("session_id")["customer_key"].max()
    sess = events["sessions"].assign(customer_key=events["sessions"].session_id.map(sid)).dropna(subset=["customer_key"])
    sess["session_date"] = sess.start_ts.dt.normalize()
    sess = sess[sess.session_date <= as_of]
    recent = sess[(as_of - sess.session_date) // day < 30]
    sf = recent.assign(abandoned=recent.add_to_cart & ~recent.purchase).groupby("customer_key").agg(
        sessions_30d=("session_id", "size"), page_views_30d=("page_views", "sum"), carts_abandoned_30d=("abandoned", "sum"))
    mail = events["emails"].assign(customer_key=event_key(events["emails"])).dropna(subset=["customer_key"])
    ef = mail.pivot_table(index="customer_key", columns="event_type", values="events", aggfunc="sum", fill_value=0)

    p = customers.set_index("customer_key").join(of).join(sf).join(ef)
    for col in ("orders_30d", "lifetime_orders", "lifetime_revenue", "sessions_30d", "page_views_30d",
                "carts_abandoned_30d", "email_open", "email_click"):
        p[col] = p[col].fillna(0) if col in p else 0
    p["days_since_last_order"] = (as_of - p.last_order) // day
    p["days_since_first_order"] = (as_of - p.first_order) // day
    p["engagement_score"] = (p.sessions_30d + 0.5 * p.email_open + 2 * p.email_click + 0.1 * p.page_views_30d).round(2)
    n = len(p)
    p["engagement_percentile"] = (p.engagement_score.rank(method="min") - 1) / (n - 1) if n > 1 else 0.0
    p["segment"] = None
    for name, rule in RULES:
        hit = p.segment.isna() & rule(p).fillna(False).astype(bool)
        p.loc[hit, "segment"] = name
    buyers = p.lifetime_orders > 0
    for col, values, ascending in (("r", -p.days_since_last_order, True), ("f", p.lifetime_orders, True),
                                   ("m", p.lifetime_revenue, True)):
        p[f"rfm_{col}"] = pd.Series(pd.NA, index=p.index, dtype="Int64")
        p.loc[buyers, f"rfm_{col}"] = (pd.qcut(values[buyers].rank(method="first", ascending=ascending), 5,
                                               labels=False) + 1).astype("Int64")
    return p.reset_index()[["customer_key", "segment", "orders_30d", "days_since_last_order", "engagement_percentile",
                            "rfm_r", "rfm_f", "rfm_m"]]


def run(landing: Path, as_of: date) -> tuple[pd.DataFrame, dict[str, float]]:
    ts = pd.Timestamp(as_of)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    crm = read_crm(landing)
    orders = read_orders(landing)
    timings["read_crm_orders_s"] = time.perf_counter() - t
    t = time.perf_counter()
    events = reduce_events(landing, ts)
    timings["read_events_s"] = time.perf_counter() - t
    t = time.perf_counter()
    nodes = resolve_identity(crm, orders, events["logins"])
    timings["identity_s"] = time.perf_counter() - t
    t = time.perf_counter()
    result = profile_and_segments(crm, orders, events, nodes, ts)
    timings["features_segments_s"] = time.perf_counter() - t
    return result, timings


def vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 25))
    ap.add_argument("--out", type=Path, required=True, help="parquet file: customer_key, segment, RFM")
    ap.add_argument("--json", type=Path, help="timings and peak memory")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    result, timings = run(args.landing, args.as_of)
    seconds = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.to_parquet(args.out, index=False)
    summary = {"seconds": round(seconds, 2), "peak_mib": round(vm_hwm_mib(), 1), "customers": len(result),
               **{k: round(v, 2) for k, v in timings.items()},
               "segments": {k: int(v) for k, v in result.segment.value_counts().items()}}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
