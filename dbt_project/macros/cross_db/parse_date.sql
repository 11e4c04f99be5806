{#
  A date in any of contracts.DATE_FORMATS_ACCEPTED:
  YYYY-MM-DD, DD.MM.YYYY, MM/DD/YYYY, DD Mon YYYY (07 Mar 1985),
  and, from other sources, YYYY/MM/DD, DD-MM-YYYY, YYYYMMDD,
  DD Month YYYY (7 March 1985), Mon DD, YYYY (Mar 7, 1985).
  The separator decides the order of day and month, so 03.04.2020 and
  03-04-2020 are the 3rd of April and 03/04/2020 is the 4th of March.
  Runs of whitespace count as one space. Day and month may have one or two
  digits, the year one to four (YYYYMMDD: exactly 8 digits), the month name
  any case. Null when it fits none or names no real day (2020-02-30): never
  an error, so one bad value cannot stop a build.
#}
{% macro parse_date(field) -%}
    {{ return(adapter.dispatch('parse_date', 'segments')(field)) }}
{%- endmacro %}

{% macro duckdb__parse_date(field) -%}
    cast(try_strptime(regexp_replace(trim({{ field }}), '\s+', ' ', 'g'),
                      ['%Y-%m-%d', '%d.%m.%Y', '%m/%d/%Y', '%d %b %Y', '%Y/%m/%d', '%d-%m-%Y',
                       '%Y%m%d', '%d %B %Y', '%b %d, %Y', '%B %d, %Y']) as date)
{%- endmacro %}


{# the month number of a lower-case month name (abbreviated or full), checked by the caller's pattern #}
{% macro _postgres_month_number(name) -%}
    cast((strpos('janfebmaraprmayjunjulaugsepoctnovdec', substr({{ name }}, 1, 3)) + 2) / 3 as {{ dbt.type_string() }})
{%- endmacro %}

{#
  PostgreSQL's to_date() raises on bad input, so the parts are checked by
  pattern and the day is built with make_date(y, m, 1) + (d - 1), which
  cannot raise; a day that rolls into the next month (Feb 30) is rejected.
  The patterns are tried in DuckDB's format order, so an ambiguous value
  (03-04-20) reads the same on both.
#}
{% macro postgres__parse_date(field) -%}
    {%- set v = "regexp_replace(trim(" ~ field ~ "), '\s+', ' ', 'g')" -%}
    {%- set lv = "lower(" ~ v ~ ")" -%}
    {%- set month_re = "(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december)" -%}
    case
        when {{ v }} ~ '^[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}$'
            then {{ segments._postgres_safe_date("split_part(" ~ v ~ ", '-', 1)", "split_part(" ~ v ~ ", '-', 2)", "split_part(" ~ v ~ ", '-', 3)") }}
        when {{ v }} ~ '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,4}$'
            then {{ segments._postgres_safe_date("split_part(" ~ v ~ ", '.', 3)", "split_part(" ~ v ~ ", '.', 2)", "split_part(" ~ v ~ ", '.', 1)") }}
        when {{ v }} ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{1,4}$'
            then {{ segments._postgres_safe_date("split_part(" ~ v ~ ", '/', 3)", "split_part(" ~ v ~ ", '/', 1)", "split_part(" ~ v ~ ", '/', 2)") }}
        when {{ lv }} ~ '^[0-9]{1,2} {{ month_re }} [0-9]{1,4}$'
            then {{ segments._postgres_safe_date(
                "split_part(" ~ v ~ ", ' ', 3)",
                segments._postgres_month_number("split_part(" ~ lv ~ ", ' ', 2)"),
                "split_part(" ~ v ~ ", ' ', 1)") }}
        when {{ v }} ~ '^[0-9]{1,4}/[0-9]{1,2}/[0-9]{1,2}$'
            then {{ segments._postgres_safe_date("split_part(" ~ v ~ ", '/', 1)", "split_part(" ~ v ~ ", '/', 2)", "split_part(" ~ v ~ ", '/', 3)") }}
        when {{ v }} ~ '^[0-9]{1,2}-[0-9]{1,2}-[0-9]{1,4}$'
            then {{ segments._postgres_safe_date("split_part(" ~ v ~ ", '-', 3)", "split_part(" ~ v ~ ", '-', 2)", "split_part(" ~ v ~ ", '-', 1)") }}
        when {{ v }} ~ '^[0-9]{8}$'
            then {{ segments._postgres_safe_date("substr(" ~ v ~ ", 1, 4)", "substr(" ~ v ~ ", 5, 2)", "substr(" ~ v ~ ", 7, 2)") }}
        when {{ lv }} ~ '^{{ month_re }} [0-9]{1,2}, [0-9]{1,4}$'
            then {{ segments._postgres_safe_date(
                "split_part(" ~ v ~ ", ' ', 3)",
                segments._postgres_month_number("split_part(" ~ lv ~ ", ' ', 1)"),
                "replace(split_part(" ~ v ~ ", ' ', 2), ',', '')") }}
    end
{%- endmacro %}

{# year, month, day: SQL text expressions of digits only (checked by the caller). #}
{% macro _postgres_safe_date(year, month, day) -%}
    {%- set y = "cast(" ~ year ~ " as integer)" -%}
    {%- set m = "cast(" ~ month ~ " as integer)" -%}
    {%- set d = "cast(" ~ day ~ " as integer)" -%}
    {%- set candidate = "(make_date(" ~ y ~ ", " ~ m ~ ", 1) + (" ~ d ~ " - 1))" -%}
    case when {{ y }} >= 1 and {{ m }} between 1 and 12 and {{ d }} between 1 and 31 then
        case when extract(month from {{ candidate }}) = {{ m }} then {{ candidate }} end
    end
{%- endmacro %}

{#
  Spark: try_to_timestamp per format (null instead of an error), guarded by
  the same patterns, in the same order, so a format is only tried on its own
  shape. Month names are matched after initcap (Spark's MMM/MMMM are
  case-sensitive). Needs spark.sql.legacy.timeParserPolicy=CORRECTED (set in
  profiles.yml) so Spark 3 does not raise on values its old parser would
  have read.
#}
{% macro spark__parse_date(field) -%}
    {%- set v = "regexp_replace(trim(" ~ field ~ "), '\\\\s+', ' ')" -%}
    {%- set iv = "initcap(lower(" ~ v ~ "))" -%}
    {%- set abbr = "(?i)(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)" -%}
    {%- set full = "(?i)(january|february|march|april|may|june|july|august|september|october|november|december)" -%}
    case
        when {{ v }} rlike '^[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}$' then to_date(try_to_timestamp({{ v }}, 'y-M-d'))
        when {{ v }} rlike '^[0-9]{1,2}[.][0-9]{1,2}[.][0-9]{1,4}$' then to_date(try_to_timestamp({{ v }}, 'd.M.y'))
        when {{ v }} rlike '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{1,4}$' then to_date(try_to_timestamp({{ v }}, 'M/d/y'))
        when {{ v }} rlike '^[0-9]{1,2} {{ abbr }} [0-9]{1,4}$' then to_date(try_to_timestamp({{ iv }}, 'd MMM y'))
        when {{ v }} rlike '^[0-9]{1,4}/[0-9]{1,2}/[0-9]{1,2}$' then to_date(try_to_timestamp({{ v }}, 'y/M/d'))
        when {{ v }} rlike '^[0-9]{1,2}-[0-9]{1,2}-[0-9]{1,4}$' then to_date(try_to_timestamp({{ v }}, 'd-M-y'))
        when {{ v }} rlike '^[0-9]{8}$' then to_date(try_to_timestamp({{ v }}, 'yyyyMMdd'))
        when {{ v }} rlike '^[0-9]{1,2} {{ full }} [0-9]{1,4}$' then to_date(try_to_timestamp({{ iv }}, 'd MMMM y'))
        when {{ v }} rlike '^{{ abbr }} [0-9]{1,2}, [0-9]{1,4}$' then to_date(try_to_timestamp({{ iv }}, 'MMM d, y'))
        when {{ v }} rlike '^{{ full }} [0-9]{1,2}, [0-9]{1,4}$' then to_date(try_to_timestamp({{ iv }}, 'MMMM d, y'))
    end
{%- endmacro %}

{# Other warehouses: ISO dates only; add an <adapter>__parse_date for more formats. #}
{% macro default__parse_date(field) -%}
    {{ segments.try_cast("trim(" ~ field ~ ")", api.Column.translate_type('date')) }}
{%- endmacro %}
