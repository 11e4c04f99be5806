"""Orders, web/app sessions and email events of one part's persons, vectorised.

Behaviour is drawn per segment inside fixed day bands that keep every person
well away from the segment thresholds of the default rules (30/90/180 days), so
the ground-truth segment is unambiguous. Days are counted back from as_of: an
event ``k`` days ago has the UTC date as_of - k, and k >= 1 (nothing on or
after the extract date).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.contracts import CHANNELS, CURRENCIES, EVENT_TYPES, EVENTS, ORDER_STATUSES, ORDERS
from segmentation.generator import vocab
from segmentation.generator.people import (
    ACTIVE, AT_RISK, CART, DORMANT, NEW, PROSPECT, VIP, Persons, bool_strings, messy_case, messy_email, offsets,
)
from segmentation.generator.render import (
    hex_ids, iso_timestamps, join, money, padded_ids, pick, with_nulls,
)

HISTORY_DAYS = 700       # orders go back this far
EVENT_WINDOW_DAYS = 400  # web events and email events go back this far
DAY = 86400

# completed orders per (segment, variant): bands of (first day ago, last day ago, min count, max count)
ORDER_BANDS: dict[tuple[int, int], tuple[tuple[int, int, int, int], ...]] = {
    (VIP, 0): ((1, 9, 1, 1), (1, 27, 3, 7), (60, HISTORY_DAYS, 1, 6)),
    (NEW, 0): ((2, 25, 1, 2),),
    (CART, 0): ((40, HISTORY_DAYS, 0, 4),),
    (ACTIVE, 0): ((35, 80, 1, 1), (81, HISTORY_DAYS, 0, 5)),           # last order 35-80 days ago
    (ACTIVE, 1): ((3, 25, 1, 2), (90, HISTORY_DAYS, 1, 5)),            # recent but few, first order long ago
    (AT_RISK, 0): ((100, 170, 1, 1), (171, HISTORY_DAYS, 0, 4)),
    (DORMANT, 0): ((200, HISTORY_DAYS, 1, 3),),
    (PROSPECT, 0): (),
}
NOT_COMPLETED_SHARE = 0.15   # persons with 1-2 cancelled/refunded orders, any time
GUEST_CHECKOUT_SHARE = 0.06  # CRM persons' web/app orders placed as guest with their email
COMPLETED, CANCELLED, REFUNDED = (ORDER_STATUSES.index(s) for s in ("completed", "cancelled", "refunded"))
WEB, APP, STORE = (CHANNELS.index(c) for c in ("web", "app", "store"))
EUR_PER_UNIT = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}

# session kinds and their event templates (EVENT_TYPES indices), lengths (min, max)
ANON_BROWSE, LOGGED_BROWSE, LOGGED_ABANDON, LOGGED_PURCHASE, GUEST_PURCHASE, VISITOR_CART = range(6)
_E = {name: i for i, name in enumerate(EVENT_TYPES)}
TEMPLATES = np.array([
    [_E["page_view"], _E["product_view"], _E["search"], _E["product_view"], _E["page_view"], _E["product_view"]],
    [_E["page_view"], _E["login"], _E["product_view"], _E["page_view"], _E["search"], _E["product_view"]],
    [_E["page_view"], _E["login"], _E["product_view"], _E["add_to_cart"], _E["remove_from_cart"], _E["checkout_started"]],
    [_E["page_view"], _E["login"], _E["product_view"], _E["add_to_cart"], _E["checkout_started"], _E["purchase"]],
    [_E["page_view"], _E["product_view"], _E["add_to_cart"], _E["checkout_started"], _E["purchase"], -1],
    [_E["page_view"], _E["product_view"], _E["add_to_cart"], _E["page_view"], -1, -1],
])
LENGTHS = np.array([(2, 5), (3, 6), (4, 6), (6, 6), (5, 5), (3, 4)])
LOGGED_KINDS = (LOGGED_BROWSE, LOGGED_ABANDON, LOGGED_PURCHASE)
STATIC_URLS = ("", "", "", "", "", "/checkout", "/checkout/confirmation", "", "", "/login")


@dataclass(frozen=True)
class Catalog:
    product_ids: pa.Array
    price_cents_eur: np.ndarray


def make_catalog(rng: np.random.Generator, n_products: int = 800) -> Catalog:
    ids = padded_ids("P-", np.arange(1, n_products + 1), 5)
    price = np.clip(np.exp(rng.normal(3.3, 0.7, n_products)), 3, 500)
    return Catalog(ids, np.round(price * 100).astype(np.int64))


@dataclass
class ActivityPart:
    order_lines: pa.Table
    events: pa.Table
    order_ids: pa.Array          # one per order
    order_owner: np.ndarray      # local person index per order
    cookie_in_events: np.ndarray  # per person: their anonymous_id occurs in the events
    first_activity_ago: np.ndarray  # per person: oldest order/session/email, in days ago (0 if none)


def _draw(rng: np.random.Generator, members: np.ndarray, lo: int, hi: int, cmin: int, cmax: int
          ) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.integers(cmin, cmax + 1, len(members))
    owners = np.repeat(members, counts)
    return owners, rng.integers(lo, hi + 1, len(owners))


def _concat(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (np.concatenate([a for a, _ in pairs]).astype(np.int64),
            np.concatenate([b for _, b in pairs]).astype(np.int64))


def build_activity(rng: np.random.Generator, p: Persons, catalog: Catalog, as_of_day: int, part_no: int,
                   visitors_per_person: float) -> ActivityPart:
    orders = _orders(rng, p, as_of_day, part_no)
    lines = _order_lines(rng, orders, catalog)
    sessions = _sessions(rng, p, orders, visitors_per_person)
    events, cookie_used, session_ago = _events(rng, p, orders, sessions, lines["first_product"], catalog,
                                               as_of_day, part_no)
    first = np.zeros(p.n, np.int64)
    np.maximum.at(first, orders["owner"], orders["ago"])
    own = sessions["owner"] >= 0
    np.maximum.at(first, sessions["owner"][own], session_ago[own])
    np.maximum.at(first, events["_email_owner"], events["_email_ago"])
    return ActivityPart(lines["table"], events["table"], orders["id"], orders["owner"], cookie_used, first)


# ---------------------------------------------------------------- orders

def _orders(rng: np.random.Generator, p: Persons, as_of_day: int, part_no: int) -> dict:
    key_variant = np.where(p.segment == ACTIVE, p.variant, 0)
    pairs = []
    for (seg, variant), bands in ORDER_BANDS.items():
        members = np.flatnonzero((p.segment == seg) & (key_variant == variant))
        for lo, hi, cmin, cmax in bands:
            pairs.append(_draw(rng, members, lo, hi, cmin, cmax))
    owner_c, ago_c = _concat(pairs)
    other = np.flatnonzero(rng.random(p.n) < NOT_COMPLETED_SHARE)
    owner_x, ago_x = _draw(rng, other, 1, HISTORY_DAYS, 1, 2)
    owner = np.concatenate([owner_c, owner_x])
    ago = np.concatenate([ago_c, ago_x])
    status = np.concatenate([np.full(len(owner_c), COMPLETED),
                             np.where(rng.random(len(owner_x)) < 0.6, CANCELLED, REFUNDED)])
    utc = (as_of_day - ago) * DAY + rng.integers(6 * 3600, 22 * 3600, len(owner))
    order = np.lexsort((owner, utc))  # time order, ties by person
    owner, ago, status, utc = owner[order], ago[order], status[order], utc[order]
    n = len(owner)

    channel = rng.choice(3, n, p=[0.55, 0.30, 0.15])
    channel_missing = rng.random(n) < 0.02
    guest = p.is_guest[owner] | (~p.email_missing_in_crm[owner] & (channel != STORE)
                                 & (rng.random(n) < GUEST_CHECKOUT_SHARE))
    iso = np.array([c[0] for c in vocab.COUNTRIES])[p.country[owner]]
    currency = np.where(iso == "GB", CURRENCIES.index("GBP"), np.where(iso == "US", CURRENCIES.index("USD"),
                                                                        CURRENCIES.index("EUR")))
    currency = np.where(rng.random(n) < 0.03, CURRENCIES.index("USD"), currency)
    email = p.email.take(pa.array(owner))
    checkout_email = pc.if_else(pa.array(guest), messy_email(rng, email),
                                with_nulls(messy_case(rng, email), p.email_missing_in_crm[owner] | (rng.random(n) < 0.1)))
    minutes, suffix = offsets(rng, n)
    return {
        "owner": owner, "ago": ago, "status": status, "utc": utc, "channel": channel,
        "channel_missing": channel_missing, "guest": guest, "currency": currency,
        "id": padded_ids("ORD-", part_no * 10_000_000 + np.arange(1, n + 1), 11),
        "crm_id": with_nulls(p.crm_id.take(pa.array(owner)), guest),
        "email": checkout_email, "ts": iso_timestamps(utc, minutes, suffix),
    }


def _order_lines(rng: np.random.Generator, o: dict, catalog: Catalog) -> dict:
    n_orders = len(o["owner"])
    n_lines = rng.integers(1, 7, n_orders)
    idx = np.repeat(np.arange(n_orders), n_lines)
    starts = np.cumsum(n_lines) - n_lines
    line_no = np.arange(len(idx)) - np.repeat(starts, n_lines) + 1
    product = rng.integers(0, len(catalog.price_cents_eur), len(idx))
    rate = np.array([EUR_PER_UNIT[c] for c in CURRENCIES])[o["currency"][idx]]
    price = np.maximum(np.round(catalog.price_cents_eur[product] / rate), 1).astype(np.int64)
    qty = rng.choice([1, 2, 3], len(idx), p=[0.75, 0.18, 0.07])
    r = rng.random(len(idx))
    discount = np.where(r < 0.2, np.round(qty * price * 0.1), 0).astype(np.int64)
    take = pa.array(idx)
    channel = with_nulls(pick(CHANNELS, o["channel"][idx]), o["channel_missing"][idx])
    table = pa.table({
        "order_id": o["id"].take(take),
        "line_number": pc.cast(pa.array(line_no), pa.string()),
        "order_ts": o["ts"].take(take),
        "crm_id": o["crm_id"].take(take),
        "email": o["email"].take(take),
        "status": pick(ORDER_STATUSES, o["status"][idx]),
        "channel": channel,
        "currency": pick(CURRENCIES, o["currency"][idx]),
        "product_id": catalog.product_ids.take(pa.array(product)),
        "quantity": pc.cast(pa.array(qty), pa.string()),
        "unit_price": money(price),
        "discount_amount": with_nulls(money(discount), (r > 0.9)),
    })
    assert table.column_names == ORDERS.column_names
    return {"table": table, "first_product": product[starts]}


# ---------------------------------------------------------------- sessions and events

def _sessions(rng: np.random.Generator, p: Persons, o: dict, visitors_per_person: float) -> dict:
    crm = ~p.is_guest
    vip = np.flatnonzero(p.segment == VIP)
    cart = np.flatnonzero(p.segment == CART)
    others = np.flatnonzero(crm & (p.segment != VIP))
    others_no_cart = np.flatnonzero(crm & (p.segment != VIP) & (p.segment != CART))
    parts: list[tuple[int, tuple[np.ndarray, np.ndarray]]] = [
        (LOGGED_BROWSE, _draw(rng, vip, 1, 27, 10, 14)),
        (LOGGED_BROWSE, _draw(rng, vip, 35, EVENT_WINDOW_DAYS, 6, 14)),
        (LOGGED_BROWSE, _draw(rng, others, 1, 27, 0, 2)),
        (LOGGED_BROWSE, _draw(rng, others, 35, EVENT_WINDOW_DAYS, 0, 7)),
        (LOGGED_ABANDON, _draw(rng, cart, 1, 25, 1, 2)),
        (LOGGED_ABANDON, _draw(rng, cart, 35, EVENT_WINDOW_DAYS, 0, 1)),
        (LOGGED_ABANDON, _draw(rng, vip, 1, 25, 0, 1)),
        (LOGGED_ABANDON, _draw(rng, others_no_cart, 35, EVENT_WINDOW_DAYS, 0, 2)),
    ]
    kind = np.concatenate([np.full(len(pair[0]), k) for k, pair in parts])
    owner = np.concatenate([pair[0] for _, pair in parts]).astype(np.int64)
    ago = np.concatenate([pair[1] for _, pair in parts]).astype(np.int64)

    web = (~o["channel_missing"]) & (o["channel"] != STORE) & (o["ago"] <= EVENT_WINDOW_DAYS)
    bought = np.flatnonzero(web)
    p_kind = np.where(o["guest"][bought], GUEST_PURCHASE, LOGGED_PURCHASE)

    logged_in = np.zeros(p.n, bool)
    logged_in[owner] = True
    logged_in[o["owner"][bought[p_kind == LOGGED_PURCHASE]]] = True
    a_owner, a_ago = _draw(rng, np.flatnonzero(logged_in), 1, EVENT_WINDOW_DAYS, 0, 2)

    n_visitors = int(round(p.n * visitors_per_person))
    v_owner, v_ago = _draw(rng, np.arange(n_visitors), 1, EVENT_WINDOW_DAYS, 1, 3)
    v_kind = np.where(rng.random(len(v_owner)) < 0.7, ANON_BROWSE, VISITOR_CART)

    return {
        "kind": np.concatenate([kind, p_kind, np.full(len(a_owner), ANON_BROWSE), v_kind]),
        "owner": np.concatenate([owner, o["owner"][bought], a_owner, np.full(len(v_owner), -1)]),
        "visitor": np.concatenate([np.full(len(owner) + len(bought) + len(a_owner), -1), v_owner]),
        "ago": np.concatenate([ago, o["ago"][bought], a_ago, v_ago]),
        "order": np.concatenate([np.full(len(owner), -1), bought, np.full(len(a_owner) + len(v_owner), -1)]),
        "n_visitors": n_visitors,
    }


def _events(rng: np.random.Generator, p: Persons, o: dict, s: dict, first_product: np.ndarray, catalog: Catalog,
            as_of_day: int, part_no: int) -> tuple[dict, np.ndarray, np.ndarray]:
    kind, n_sessions = s["kind"], len(s["kind"])
    lo, hi = LENGTHS[kind, 0], LENGTHS[kind, 1]
    length = lo + (rng.random(n_sessions) * (hi - lo + 1)).astype(np.int64)
    sess = np.repeat(np.arange(n_sessions), length)
    starts = np.cumsum(length) - length
    pos = np.arange(len(sess)) - starts[sess]
    etype = TEMPLATES[kind[sess], pos]
    gaps = rng.integers(5, 180, len(sess))
    gaps[pos == 0] = 0
    cum = np.cumsum(gaps)
    within = cum - cum[starts][sess]
    duration = within[starts + length - 1]
    purchase = s["order"] >= 0
    start = (as_of_day - s["ago"]) * DAY + rng.integers(6 * 3600, 21 * 3600, n_sessions)
    start[purchase] = o["utc"][s["order"][purchase]] - duration[purchase]
    utc = start[sess] + within

    # who: the person's cookie (or a visitor's), user_id from the login event on
    visitor_cookies = hex_ids("anon-", rng.integers(0, 2**63, s["n_visitors"], dtype=np.int64).astype(np.uint64))
    cookies = pa.concat_arrays([p.cookie, visitor_cookies])
    cookie_idx = np.where(s["owner"] >= 0, s["owner"], p.n + s["visitor"])
    owner_ev = s["owner"][sess]
    logged = np.isin(kind[sess], LOGGED_KINDS) & (pos >= 1)
    user_id = with_nulls(p.crm_id.take(pa.array(np.maximum(owner_ev, 0))), ~logged)

    # what: product, page, order
    product = rng.integers(0, len(catalog.price_cents_eur), len(sess))
    in_purchase = purchase[sess]
    product[in_purchase] = first_product[s["order"][sess[in_purchase]]]
    is_product = np.isin(etype, [_E["product_view"], _E["add_to_cart"], _E["remove_from_cart"]])
    product_id = with_nulls(catalog.product_ids.take(pa.array(product)), ~is_product)
    url = pick(STATIC_URLS, etype)
    url = pc.if_else(pa.array(is_product), join("/p/", product_id), url)
    url = pc.if_else(pa.array(etype == _E["page_view"]), pick(vocab.PAGES, rng.integers(0, len(vocab.PAGES), len(sess))), url)
    url = pc.if_else(pa.array(etype == _E["search"]),
                     join("/search?q=", pick(vocab.SEARCH_TERMS, rng.integers(0, len(vocab.SEARCH_TERMS), len(sess)))), url)
    is_purchase = etype == _E["purchase"]
    order_id = with_nulls(o["id"].take(pa.array(np.where(is_purchase, s["order"][sess], 0))), ~is_purchase)

    # context per session: device, os, time zone, referrer and campaign on the landing event
    device = rng.choice(len(vocab.DEVICES), n_sessions, p=vocab.DEVICE_WEIGHTS)
    os_pairs = [(d, name) for d in vocab.DEVICES for name in vocab.OS_BY_DEVICE[d]]
    os_offsets = np.cumsum([0] + [len(vocab.OS_BY_DEVICE[d]) for d in vocab.DEVICES])
    os_count = np.array([len(vocab.OS_BY_DEVICE[d]) for d in vocab.DEVICES])
    os_idx = os_offsets[device] + rng.integers(0, 60, n_sessions) % os_count[device]
    minutes, suffix_idx = _offset_idx(rng, n_sessions)
    landing = pos == 0
    referrer = rng.integers(0, len(vocab.REFERRERS), n_sessions)[sess]
    utm = np.where(rng.random(n_sessions) < 0.25, rng.integers(0, len(vocab.UTM), n_sessions), -1)[sess]
    has_utm = landing & (utm >= 0)
    consent = np.concatenate([p.tracking_consent, rng.random(s["n_visitors"]) < 0.92])[cookie_idx][sess]

    session_ids = hex_ids("s-", rng.integers(0, 2**63, n_sessions, dtype=np.int64).astype(np.uint64))
    web = {
        "event_ts": iso_timestamps(utc, minutes[sess], pick([x for x, _ in vocab.OFFSETS], suffix_idx[sess])),
        "event_type": pick(EVENT_TYPES, etype),
        "anonymous_id": cookies.take(pa.array(cookie_idx[sess])),
        "user_id": user_id,
        "email": pa.nulls(len(sess), pa.string()),
        "session_id": session_ids.take(pa.array(sess)),
        "page_url": with_nulls(url, pc.equal(url, "").to_numpy(zero_copy_only=False)),
        "product_id": product_id,
        "order_id": order_id,
        "device_type": with_nulls(pick(vocab.DEVICES, device[sess]), device[sess] == vocab.DEVICES.index("")),
        "os": with_nulls(pick([n for _, n in os_pairs], os_idx[sess]), device[sess] == vocab.DEVICES.index("")),
        "referrer": with_nulls(pick(vocab.REFERRERS, referrer), ~landing | (referrer == 0)),
        "utm_source": with_nulls(pick([u[0] for u in vocab.UTM], np.maximum(utm, 0)), ~has_utm),
        "utm_medium": with_nulls(pick([u[1] for u in vocab.UTM], np.maximum(utm, 0)), ~has_utm),
        "utm_campaign": with_nulls(pick([u[2] for u in vocab.UTM], np.maximum(utm, 0)), ~has_utm),
        "tracking_consent": bool_strings(rng, consent, allow_empty_false=False),
    }

    mail, mail_utc, mail_owner, mail_ago = _email_events(rng, p, as_of_day)
    utc_all = np.concatenate([utc, mail_utc])
    columns = {k: pa.concat_arrays([v, mail[k]]) for k, v in web.items()}
    order = np.argsort(utc_all, kind="stable")
    take = pa.array(order)
    table = pa.table({"event_id": padded_ids("EV", part_no * 1_000_000_000 + np.arange(1, len(order) + 1), 13),
                      **{k: v.take(take) for k, v in columns.items()}})
    assert table.column_names == EVENTS.column_names

    cookie_used = np.zeros(p.n, bool)
    cookie_used[s["owner"][s["owner"] >= 0]] = True
    return {"table": table, "_email_owner": mail_owner, "_email_ago": mail_ago}, cookie_used, s["ago"]


def _offset_idx(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = rng.choice(len(vocab.OFFSETS), n, p=vocab.OFFSET_WEIGHTS)
    return np.array([m for _, m in vocab.OFFSETS])[idx], idx


def _email_events(rng: np.random.Generator, p: Persons, as_of_day: int) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """email_open / email_click events: only the address, type, time and ids."""
    reachable = p.email_opt_in & ~p.email_missing_in_crm & ~p.is_guest
    vip = np.flatnonzero(reachable & (p.segment == VIP))
    rest = np.flatnonzero(reachable & (p.segment != VIP))
    parts = [
        (_E["email_open"], _draw(rng, vip, 1, 85, 8, 14)), (_E["email_click"], _draw(rng, vip, 1, 85, 6, 10)),
        (_E["email_open"], _draw(rng, rest, 1, 85, 0, 6)), (_E["email_click"], _draw(rng, rest, 1, 85, 0, 2)),
        (_E["email_open"], _draw(rng, np.flatnonzero(reachable), 95, EVENT_WINDOW_DAYS, 0, 5)),
        (_E["email_click"], _draw(rng, np.flatnonzero(reachable), 95, EVENT_WINDOW_DAYS, 0, 2)),
    ]
    etype = np.concatenate([np.full(len(pair[0]), t) for t, pair in parts])
    owner = np.concatenate([pair[0] for _, pair in parts]).astype(np.int64)
    ago = np.concatenate([pair[1] for _, pair in parts]).astype(np.int64)
    n = len(owner)
    utc = (as_of_day - ago) * DAY + rng.integers(5 * 3600, 23 * 3600, n)
    emails = p.email.take(pa.array(owner))
    emails = pc.if_else(pa.array(rng.random(n) < 0.2), messy_case(rng, emails), emails)
    suffix_idx = np.where(rng.random(n) < 0.8, 0, 1)  # Z or +00:00
    nulls = pa.nulls(n, pa.string())
    mail = {c: nulls for c in EVENTS.column_names if c != "event_id"}
    mail["event_ts"] = iso_timestamps(utc, np.zeros(n, np.int64), pick([x for x, _ in vocab.OFFSETS], suffix_idx))
    mail["event_type"] = pick(EVENT_TYPES, etype)
    mail["email"] = emails
    return mail, utc, owner, ago
