"""Every macro of dbt_project/macros/cross_db on the same literal inputs, on one target.

    python tests/portability/cross_db_probe.py --target dev|postgres|spark --work <dir> --out <rows.json>

Compiles and runs PROBE_SQL with `dbt show --inline` (dbt's own Jinja, the
target's dispatch) and writes the rows, each value as text, so the
portability tests can require the same answers from every warehouse.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from portability_helpers import AS_OF, DBT_PROJECT  # noqa: E402

# Inputs: messy dates, timestamps, numbers, phones and emails, plus values no
# parser may raise on. No quotes inside literals (their escaping differs).
CASES = [
    # id, date text, timestamp text, number text, phone, email, name
    (1, "1985-3-7", "2026-11-20T14:03:11+01:00", " 12 ", "030/123 4567", "a@b.de", "ANNA-LENA  MÜLLER"),
    (2, "07 mar 1985", "2026-11-20T14:03:11Z", "x", "+49 (0)30 1234567", "a b@c.de", "Renée Öztürk"),
    (3, "2020-02-30", "garbage", "1.5", "12345", "x@y", " o-neil   smith-jones "),
    (4, "03.04.2020", "2026-02-30T00:00:00Z", "-7", None, None, "Hauptstr. 5"),
    (5, "03/04/2020", "2026-11-20 14:03:11", "99999999999", "0049 40 555666", "Ab.C@d-e.org", "HAUPTSTRASSE 5"),
    (6, "not a date", "2026-11-20T14:03:11-05:00", "", "(030) 123-4567", "@x.de", "Martínez Łukasz"),
    (7, "13/01/2020", "2026-13-01T00:00:00Z", "12345678901234.5678", "+1 212 555 0100", "a@@b.de", "Main St. 12"),
    (8, None, None, None, "0171 555001", "ok@mail.example.com", None),
    (9, "2020/03/04", "2026-11-20T14:03:11Z", "0", "tel:+49-30-1234567", "b@a.de", "Strandweg 3"),
    (10, "03-04-2020", None, "1", "030 1234567 ext. 12", "ba@b.de", "mcdonald"),
    (11, "20200304", None, "2", "0800-FLOWERS", "ab@b.de", "Dixon"),
    (12, "7 March 1985", None, "3", "030 1111111", "a@b.dex", "Dicksonx"),
    (13, "Mar 7, 1985", None, "4", None, None, "Martha"),
    (14, "march  7,  1985", None, "5", None, None, "Marhta"),
]


def _lit(value) -> str:
    return "null" if value is None else (str(value) if isinstance(value, int) else f"'{value}'")


def probe_sql() -> str:
    names = ["id", "d", "ts", "n", "phone", "email", "name"]
    rows = "\n    union all\n    ".join(
        "select " + ", ".join(f"{_lit(v)} as {n}" for v, n in zip(case, names)) for case in CASES)
    return f"""
with cases as (
    {rows}
),
agg as (
    select
        {{{{ segments.percentile_cont('id', 0.5) }}}} as p50_id,
        {{{{ segments.percentile_cont('id', 0.25) }}}} as p25_id,
        {{{{ segments.arg_max('email', 'id') }}}} as email_of_max_id,
        {{{{ segments.arg_min('d', 'id') }}}} as d_of_min_id
    from cases
)
select
    cases.id,
    cast({{{{ segments.parse_date('d') }}}} as {{{{ dbt.type_string() }}}}) as parsed_date,
    cast({{{{ segments.parse_timestamp_utc('ts') }}}} as {{{{ dbt.type_string() }}}}) as parsed_ts,
    {{{{ segments.epoch_seconds(segments.parse_timestamp_utc('ts')) }}}} as epoch_s,
    {{{{ segments.try_cast('n', 'integer') }}}} as n_int,
    cast({{{{ segments.try_cast('n', 'decimal(18, 4)') }}}} as {{{{ dbt.type_string() }}}}) as n_dec,
    {{{{ segments.try_cast('n', 'double precision') }}}} as n_double,
    {{{{ segments.normalize_phone('phone') }}}} as phone_e164,
    {{{{ segments.is_valid_email('email') }}}} as email_ok,
    {{{{ segments.regexp_replace_all('email', '[^a-z]', '_') }}}} as email_letters,
    {{{{ segments.levenshtein('email', segments.string_literal('a@b.de')) }}}} as edit_distance,
    {{{{ segments.sha256('email') }}}} as email_sha256,
    {{{{ segments.string_literal("it's a \\\\ test") }}}} as quoted,
    cast(0.25 as {{{{ segments.type_double() }}}}) as quarter,
    {{{{ segments.regexp_contains('email', '[.]de$') }}}} as email_de,
    {{{{ segments.clean_name('name') }}}} as clean_name,
    {{{{ segments.name_key('name') }}}} as name_key,
    {{{{ segments.street_key('name') }}}} as street_key,
    {{{{ segments.jaro_winkler(segments.name_key('name'), segments.string_literal('martha')) }}}} as jaro_winkler_martha,
    {{{{ segments.jaro_winkler(segments.name_key('name'), segments.string_literal('dixon')) }}}} as jaro_winkler_dixon,
    {{{{ segments.jaro_winkler('email', segments.string_literal('a@b.de')) }}}} as jaro_winkler_email,
    {{{{ segments.edit_distance('email', segments.string_literal('ab@b.de')) }}}} as damerau_levenshtein,
    {{{{ segments.edit_distance(segments.name_key('name'), segments.string_literal('marhta')) }}}} as damerau_levenshtein_name,
    agg.p50_id, agg.p25_id, agg.email_of_max_id, agg.d_of_min_id
from cases
cross join agg
order by cases.id
"""


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        return f"{float(value):.6f}"
    return str(value)


def probe(target: str, work: Path) -> list[list[str | None]]:
    """Run the probe on `target` in this process; rows of text values."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([
        "show", "--inline", probe_sql(), "--limit", "100", "--target", target,
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        "--vars", f'{{as_of_date: "{AS_OF}"}}', "--quiet",
    ])
    if not result.success:
        raise SystemExit(f"cross_db probe failed on {target}: {result.exception}")
    table = result.result.results[0].agate_table
    columns = list(table.column_names)
    return [columns] + [[_text(v) for v in row] for row in table.rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text(json.dumps(probe(args.target, args.work)))


if __name__ == "__main__":
    main()
