"""Persons behind the extracts and their CRM records (with duplicates, typos and updates).

A *person* is the ground-truth human. A CRM person has one primary CRM record,
sometimes a second (duplicate) record entered with typos, and sometimes an
updated version of the primary record in a later file part. Guests have no CRM
record and are known only by the email they give at checkout.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.contracts import CRM
from segmentation.generator import vocab
from segmentation.generator.render import (
    hex_ids, iso_timestamps, join, padded_ids, pick, strings, with_nulls,
)

SEGMENTS = ("vip", "new", "cart_abandoner", "active", "at_risk", "dormant", "prospect")
VIP, NEW, CART, ACTIVE, AT_RISK, DORMANT, PROSPECT = range(7)

# (segment, is_guest, share of persons)
PERSON_MIX = (
    (VIP, False, 0.03), (NEW, False, 0.07), (CART, False, 0.07), (ACTIVE, False, 0.23),
    (AT_RISK, False, 0.14), (DORMANT, False, 0.18), (PROSPECT, False, 0.21),
    (NEW, True, 0.01), (ACTIVE, True, 0.03), (AT_RISK, True, 0.01), (DORMANT, True, 0.02),
)
DUPLICATE_SHARE = 0.06
DUP_PHONE, DUP_FUZZY, DUP_EMAIL_CASE = 0, 1, 2
DUP_KINDS = ("same_phone_other_format", "fuzzy_only", "same_email_other_case")
UPDATE_SHARE = 0.03
NO_TRACKING_SHARE = 0.05
EMAIL_OPT_IN_SHARE = 0.6
CRM_EMAIL_MISSING_SHARE = 0.03


def ascii_slug(text: str) -> str:
    """Lower-case ASCII form of a name for email local parts: 'Müller' -> 'mueller'."""
    text = text.lower()
    for src, dst in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ø", "oe"), ("ł", "l"), ("ı", "i")):
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum())


def quota_assign(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    """Category index per item with counts matching shares exactly (largest remainder), shuffled."""
    exact = np.asarray(shares) / np.sum(shares) * n
    counts = np.floor(exact).astype(np.int64)
    remainder = n - counts.sum()
    if remainder:
        counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


@dataclass
class Persons:
    """One part's persons as parallel arrays (index = local person number)."""

    gidx: np.ndarray          # global person index, 0-based
    segment: np.ndarray       # SEGMENTS code
    variant: np.ndarray       # 0/1: behaviour variant inside a segment (active: recent-but-few)
    is_guest: np.ndarray
    first: np.ndarray         # index into vocab.FIRST_NAMES
    last: np.ndarray
    country: np.ndarray       # index into vocab.COUNTRIES
    email: pa.Array           # normalised (lower-case) primary email
    email_missing_in_crm: np.ndarray
    email_opt_in: np.ndarray  # consent as first recorded
    tracking_consent: np.ndarray
    cookie: pa.Array          # the person's anonymous_id
    crm_id: pa.Array          # primary CRM id (null for guests)

    @property
    def n(self) -> int:
        return len(self.gidx)


def draw_persons(rng: np.random.Generator, start: int, n: int) -> Persons:
    gidx = np.arange(start, start + n, dtype=np.int64)
    mix = quota_assign(rng, n, [share for _, _, share in PERSON_MIX])
    segment = np.array([s for s, _, _ in PERSON_MIX])[mix]
    is_guest = np.array([g for _, g, _ in PERSON_MIX])[mix]
    variant = (rng.random(n) < 0.3).astype(np.int8)
    first = rng.integers(0, len(vocab.FIRST_NAMES), n)
    last = rng.integers(0, len(vocab.LAST_NAMES), n)
    country = rng.choice(len(vocab.COUNTRIES), size=n, p=[c[5] for c in vocab.COUNTRIES])

    first_slug = [ascii_slug(x) for x in vocab.FIRST_NAMES]
    last_slug = [ascii_slug(x) for x in vocab.LAST_NAMES]
    sep = pick((".", "_", ""), rng.integers(0, 3, n))
    email = join(pick(first_slug, first), sep, pick(last_slug, last),
                 pc.cast(pa.array(gidx + 1), pa.string()), "@",
                 pick(vocab.EMAIL_DOMAINS, rng.integers(0, len(vocab.EMAIL_DOMAINS), n)))

    email_missing = (~is_guest) & (segment != VIP) & (rng.random(n) < CRM_EMAIL_MISSING_SHARE)
    email_opt_in = (~is_guest) & ((segment == VIP) | (rng.random(n) < EMAIL_OPT_IN_SHARE))
    tracking = ~((~is_guest) & (segment != VIP) & (segment != CART) & (rng.random(n) < NO_TRACKING_SHARE))
    cookie = hex_ids("anon-", rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64))
    crm_id = with_nulls(padded_ids("CRM-", gidx + 1, 8), is_guest)
    return Persons(gidx, segment, variant, is_guest, first, last, country, email, email_missing,
                   email_opt_in, tracking, cookie, crm_id)


# ---------------------------------------------------------------- formatting helpers

def messy_case(rng: np.random.Generator, values: pa.Array) -> pa.Array:
    """Random case: mostly as is, some UPPER, some Capitalised."""
    r = rng.random(len(values))
    out = pc.if_else(pa.array(r < 0.12), pc.utf8_upper(values), values)
    return pc.if_else(pa.array((r >= 0.12) & (r < 0.30)), pc.utf8_capitalize(values), out)


def messy_email(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """Email with random case and sometimes surrounding spaces."""
    out = messy_case(rng, emails)
    r = rng.random(len(emails))
    out = pc.if_else(pa.array(r < 0.06), join(" ", out), out)
    return pc.if_else(pa.array((r >= 0.06) & (r < 0.12)), join(out, "  "), out)


PHONE_FORMATS = ("+CC AREA SUB", "0AREA/SUB", "(0AREA) SUB3-SUB4", "00CCAREASUB", "+CCAREASUB", "0AREA SUB")
INTERNATIONAL_FORMATS = np.array([0, 3, 4])


def phone_strings(country: np.ndarray, area: np.ndarray, sub: np.ndarray, fmt: np.ndarray) -> pa.Array:
    """Render a phone number in one of PHONE_FORMATS (US numbers only internationally)."""
    cc = pick([c[2] for c in vocab.COUNTRIES], country)
    area_codes = [a for c in vocab.COUNTRIES for a in c[3]]
    area_s = pick(area_codes, area)
    sub_s = pc.cast(pa.array(sub), pa.string())
    s3, s4 = pc.utf8_slice_codeunits(sub_s, 0, 3), pc.utf8_slice_codeunits(sub_s, 3, 7)
    options = [
        join("+", cc, " ", area_s, " ", sub_s), join("0", area_s, "/", sub_s),
        join("(0", area_s, ") ", s3, "-", s4), join("00", cc, area_s, sub_s),
        join("+", cc, area_s, sub_s), join("0", area_s, " ", sub_s),
    ]
    return pc.choose(pa.array(fmt, type=pa.int64()), *options)


def phone_format(rng: np.random.Generator, country: np.ndarray, avoid: np.ndarray | None = None) -> np.ndarray:
    """A format index per number; US numbers get international formats; differs from avoid if given."""
    n = len(country)
    fmt = rng.integers(0, len(PHONE_FORMATS), n)
    if avoid is not None:
        fmt = (avoid + rng.integers(1, len(PHONE_FORMATS), n)) % len(PHONE_FORMATS)
    us = country == _country_index("US")
    if us.any():
        intl = INTERNATIONAL_FORMATS[rng.integers(0, 3, us.sum())]
        if avoid is not None:
            same = intl == avoid[us]
            intl[same] = INTERNATIONAL_FORMATS[(np.searchsorted(INTERNATIONAL_FORMATS, intl[same]) + 1) % 3]
        fmt[us] = intl
    return fmt


def _country_index(code: str) -> int:
    return [c[0] for c in vocab.COUNTRIES].index(code)


DATE_PATTERNS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d %b %Y")  # contracts.DATE_FORMATS_ACCEPTED in order


def date_strings(days: np.ndarray, fmt: np.ndarray) -> pa.Array:
    """Dates (days since epoch) rendered in the format chosen per row."""
    d = pa.array(np.asarray(days, dtype=np.int32), type=pa.date32())
    options = [pc.strftime(pc.cast(d, pa.timestamp("s")), format=p, locale="C") for p in DATE_PATTERNS]
    return pc.choose(pa.array(fmt, type=pa.int64()), *options)


def bool_strings(rng: np.random.Generator, flags: np.ndarray, allow_empty_false: bool = True) -> pa.Array:
    """Booleans in the accepted spellings; an empty value means unknown (= no)."""
    n = len(flags)
    t = pick(vocab.TRUE_VALUES, rng.choice(len(vocab.TRUE_VALUES), n, p=vocab.TRUE_WEIGHTS))
    f = pick(vocab.FALSE_VALUES, rng.choice(len(vocab.FALSE_VALUES), n, p=vocab.FALSE_WEIGHTS))
    if allow_empty_false:
        f = with_nulls(f, rng.random(n) < 0.15)
    return pc.if_else(pa.array(flags), t, f)


def offsets(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pa.Array]:
    """Random UTC offsets: minutes east and rendered suffix."""
    idx = rng.choice(len(vocab.OFFSETS), n, p=vocab.OFFSET_WEIGHTS)
    minutes = np.array([m for _, m in vocab.OFFSETS])[idx]
    return minutes, pick([s for s, _ in vocab.OFFSETS], idx)


# ---------------------------------------------------------------- typos

def typo(rng: np.random.Generator, text: str) -> str:
    """A human-looking typo: swap, drop, double or replace a letter, or spell an umlaut out."""
    for src, dst in (("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("é", "e"), ("ß", "ss")):
        if src in text and rng.random() < 0.5:
            return text.replace(src, dst, 1)
    if len(text) < 3:
        return text + text[-1]
    for _ in range(5):
        i = int(rng.integers(1, len(text) - 1))
        op = int(rng.integers(0, 4))
        if op == 0:
            out = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif op == 1:
            out = text[:i] + text[i + 1:]
        elif op == 2:
            out = text[:i] + text[i] + text[i:]
        else:
            out = text[:i] + "aeinorst"[int(rng.integers(0, 8))] + text[i + 1:]
        if out != text:
            return out
    return text + "e"


def email_typo(rng: np.random.Generator, email: str) -> str:
    local, domain = email.split("@", 1)
    if rng.random() < 0.5 and domain in vocab.DOMAIN_TYPOS:
        return f"{local}@{vocab.DOMAIN_TYPOS[domain]}"
    return f"{typo(rng, local)}@{domain}"


# ---------------------------------------------------------------- CRM records

@dataclass
class CrmPart:
    records: pa.Table        # primary + duplicate records (file part of this chunk)
    updates: pa.Table        # later versions of some primary records (go to the last file part)
    dup_person: np.ndarray   # local person index of each duplicate record
    dup_crm_id: list[str]
    dup_email: list[str | None]  # normalised email of the duplicate record
    dup_kind: np.ndarray
    final_email_opt_in: np.ndarray  # per person, after updates


def crm_part(rng: np.random.Generator, p: Persons, first_activity_ago: np.ndarray, total_persons: int,
             as_of_day: int) -> CrmPart:
    """CRM file rows for the CRM persons of one part, plus duplicates and updates."""
    crm = np.flatnonzero(~p.is_guest)
    m = len(crm)
    gidx, country = p.gidx[crm], p.country[crm]
    area_offsets = np.cumsum([0] + [len(c[3]) for c in vocab.COUNTRIES])
    area = area_offsets[country] + (rng.integers(0, 1000, m) % np.array([len(c[3]) for c in vocab.COUNTRIES])[country])
    sub = rng.integers(1_000_000, 9_999_999, m)
    phone_fmt = phone_format(rng, country)
    birth = rng.integers(-7305, 13514, m)            # 1950-01-01 .. 2006-12-31
    signup_ago = first_activity_ago[crm] + rng.integers(1, 400, m)
    updated_ago = rng.integers(3, np.maximum(signup_ago, 4))
    city_offsets = np.cumsum([0] + [len(c[4]) for c in vocab.COUNTRIES])
    city = city_offsets[country] + (rng.integers(0, 1000, m) % np.array([len(c[4]) for c in vocab.COUNTRIES])[country])
    street_no = rng.integers(1, 180, m)
    street = rng.integers(0, len(vocab.STREETS), m)

    cols = _crm_columns(
        rng, as_of_day, crm_id=p.crm_id.take(pa.array(crm)),
        first=pick(vocab.FIRST_NAMES, p.first[crm]), last=pick(vocab.LAST_NAMES, p.last[crm]),
        email=with_nulls(messy_email(rng, p.email.take(pa.array(crm))), p.email_missing_in_crm[crm]),
        phone=with_nulls(phone_strings(country, area, sub, phone_fmt), rng.random(m) < 0.10),
        birth=birth, street=street, street_no=street_no, city=city, country=country,
        signup_ago=signup_ago, email_opt_in=p.email_opt_in[crm], updated_ago=updated_ago,
        missing_birth=rng.random(m) < 0.10, missing_street=rng.random(m) < 0.05,
    )
    primary = pa.table(cols, schema=_crm_schema())

    # duplicates: a second record of the same person, typed again with mistakes
    has_dup = (rng.random(m) < DUPLICATE_SHARE) & ~p.email_missing_in_crm[crm]
    dups = np.flatnonzero(has_dup)
    dup_kind = rng.choice(3, len(dups), p=[0.4, 0.35, 0.25])
    dup_ids = padded_ids("CRM-", total_persons + gidx[dups] + 1, 8)
    emails = p.email.take(pa.array(crm[dups])).to_pylist()
    firsts = [vocab.FIRST_NAMES[i] for i in p.first[crm[dups]]]
    lasts = [vocab.LAST_NAMES[i] for i in p.last[crm[dups]]]
    dup_first, dup_last, dup_email = [], [], []
    for k, kind in enumerate(dup_kind):
        f, l, e = firsts[k], lasts[k], emails[k]
        which = rng.integers(0, 3)  # 0 first name typo, 1 last name typo, 2 both
        dup_first.append(typo(rng, f) if which in (0, 2) else f)
        dup_last.append(typo(rng, l) if which in (1, 2) else l)
        if kind == DUP_PHONE:
            work = vocab.WORK_DOMAINS[int(rng.integers(0, len(vocab.WORK_DOMAINS)))]
            dup_email.append(f"{ascii_slug(f)[0]}.{ascii_slug(l)}.{gidx[dups[k]] + 1}@{work}")
        elif kind == DUP_FUZZY:
            dup_email.append(email_typo(rng, e))
        else:
            dup_email.append(e)
    nd = len(dups)
    dup_phone = pc.if_else(
        pa.array(dup_kind == DUP_PHONE),
        phone_strings(country[dups], area[dups], sub[dups], phone_format(rng, country[dups], avoid=phone_fmt[dups])),
        pa.nulls(nd, pa.string()))
    dup_cols = _crm_columns(
        rng, as_of_day, crm_id=dup_ids, first=strings(dup_first), last=strings(dup_last),
        email=messy_email(rng, strings(dup_email)), phone=dup_phone,
        birth=birth[dups], street=street[dups], street_no=street_no[dups], city=city[dups], country=country[dups],
        signup_ago=rng.integers(1, np.maximum(signup_ago[dups], 2)), email_opt_in=p.email_opt_in[crm[dups]],
        updated_ago=rng.integers(1, np.maximum(updated_ago[dups], 2)),
        missing_birth=np.zeros(nd, bool), missing_street=rng.random(nd) < 0.3,
    )
    if nd:
        # the primary of a phone duplicate must carry its phone, or the phones cannot match
        phone_col = primary.column("phone").combine_chunks()
        need = np.zeros(m, bool)
        need[dups[dup_kind == DUP_PHONE]] = True
        fixed = pc.if_else(pa.array(need), phone_strings(country, area, sub, phone_fmt), phone_col)
        primary = primary.set_column(primary.schema.get_field_index("phone"), "phone", fixed)
    records = pa.concat_tables([primary, pa.table(dup_cols, schema=_crm_schema())])

    # updates: a later version of some primary records (moved, consent changed, phone retyped)
    upd = np.flatnonzero((rng.random(m) < UPDATE_SHARE) & ~has_dup)
    kind = rng.integers(0, 3, len(upd))
    kind[(p.segment[crm[upd]] == VIP) & (kind == 1)] = 0
    updates = primary.take(pa.array(upd))
    final_opt_in = p.email_opt_in.copy()
    flip = upd[kind == 1]
    final_opt_in[crm[flip]] = ~final_opt_in[crm[flip]]
    if len(upd):
        move = pa.array(kind == 0)
        new_street = join(pick(vocab.STREETS, rng.integers(0, len(vocab.STREETS), len(upd))), " ",
                          pc.cast(pa.array(rng.integers(1, 180, len(upd))), pa.string()))
        updates = updates.set_column(CRM.column_names.index("street"), "street",
                                     pc.if_else(move, new_street, updates.column("street").combine_chunks()))
        opt = bool_strings(rng, final_opt_in[crm[upd]], allow_empty_false=False)
        updates = updates.set_column(CRM.column_names.index("email_opt_in"), "email_opt_in",
                                     pc.if_else(pa.array(kind == 1), opt, updates.column("email_opt_in").combine_chunks()))
        has_phone = pc.is_valid(updates.column("phone").combine_chunks())
        new_phone = phone_strings(country[upd], area[upd], sub[upd], phone_format(rng, country[upd], avoid=phone_fmt[upd]))
        updates = updates.set_column(CRM.column_names.index("phone"), "phone",
                                     pc.if_else(pc.and_(pa.array(kind == 2), has_phone), new_phone,
                                                updates.column("phone").combine_chunks()))
        later = rng.integers(1, updated_ago[upd])
        minutes, suffix = offsets(rng, len(upd))
        secs = (as_of_day - later) * 86400 + rng.integers(6 * 3600, 20 * 3600, len(upd))
        updates = updates.set_column(CRM.column_names.index("updated_at"), "updated_at",
                                     iso_timestamps(secs, minutes, suffix))
    return CrmPart(records, updates, crm[dups], dup_ids.to_pylist(), dup_email, dup_kind, final_opt_in)


def _crm_schema() -> pa.Schema:
    return pa.schema([(name, pa.string()) for name in CRM.column_names])


def _crm_columns(rng: np.random.Generator, as_of: int, *, crm_id, first, last, email, phone, birth, street, street_no, city,
                 country, signup_ago, email_opt_in, updated_ago, missing_birth, missing_street) -> dict[str, pa.Array]:
    n = len(birth)
    r = rng.random(n)
    first = pc.if_else(pa.array(r < 0.04), pc.utf8_lower(first), first)
    last = pc.if_else(pa.array((r >= 0.04) & (r < 0.09)), pc.utf8_upper(last), last)
    cities = [c for country_ in vocab.COUNTRIES for c in country_[4]]
    country_style = rng.random(n)
    iso = pick([c[0] for c in vocab.COUNTRIES], country)
    english = pick([c[1] for c in vocab.COUNTRIES], country)
    country_s = with_nulls(pc.if_else(pa.array(country_style < 0.55), iso, english), country_style > 0.96)
    minutes, suffix = offsets(rng, n)
    updated_secs = (as_of - updated_ago) * 86400 + rng.integers(6 * 3600, 20 * 3600, n)
    return {
        "crm_id": crm_id,
        "first_name": with_nulls(first, rng.random(n) < 0.02),
        "last_name": last,
        "email": email,
        "phone": phone,
        "birth_date": with_nulls(date_strings(birth, rng.integers(0, 4, n)), missing_birth),
        "street": with_nulls(join(pick(vocab.STREETS, street), " ", pc.cast(pa.array(street_no), pa.string())), missing_street),
        "city": with_nulls(pick([c for c, _ in cities], city), rng.random(n) < 0.03),
        "postal_code": with_nulls(pick([z for _, z in cities], city), rng.random(n) < 0.03),
        "country": country_s,
        "signup_date": with_nulls(date_strings(as_of - signup_ago, rng.integers(0, 4, n)), rng.random(n) < 0.02),
        "email_opt_in": bool_strings(rng, email_opt_in),
        "sms_opt_in": bool_strings(rng, rng.random(n) < 0.3),
        "updated_at": iso_timestamps(updated_secs, minutes, suffix),
    }
