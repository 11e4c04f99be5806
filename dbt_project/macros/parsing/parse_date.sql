{#
  A date in any of contracts.DATE_FORMATS_ACCEPTED:
  YYYY-MM-DD, DD.MM.YYYY, MM/DD/YYYY, DD Mon YYYY (07 Mar 1985),
  and, from other sources, YYYY/MM/DD, DD-MM-YYYY, YYYYMMDD,
  DD Month YYYY (7 March 1985), Mon DD, YYYY (Mar 7, 1985).
  The separator decides the order of day and month, so 03.04.2020 and
  03-04-2020 are the 3rd of April and 03/04/2020 is the 4th of March.
  Null when it fits none.
#}
{% macro parse_date(field) -%}
    {{ return(adapter.dispatch('parse_date', 'segments')(field)) }}
{%- endmacro %}

{% macro duckdb__parse_date(field) -%}
    cast(try_strptime(regexp_replace(trim({{ field }}), '\s+', ' ', 'g'),
                      ['%Y-%m-%d', '%d.%m.%Y', '%m/%d/%Y', '%d %b %Y', '%Y/%m/%d', '%d-%m-%Y',
                       '%Y%m%d', '%d %B %Y', '%b %d, %Y', '%B %d, %Y']) as date)
{%- endmacro %}

{# Portable fallback: ISO dates only; add an adapter-specific macro for more formats. #}
{% macro default__parse_date(field) -%}
    {{ segments.try_cast("trim(" ~ field ~ ")", api.Column.translate_type('date')) }}
{%- endmacro %}

{#
  A birth date: parse_date, and null when outside 1900-01-01 .. the as-of
  date (a typo like 2091 or 1066); the caller flags it.
#}
{% macro parse_birth_date(field) -%}
    case
        when {{ segments.parse_date(field) }} between cast('1900-01-01' as date) and {{ segments.as_of_date() }}
            then {{ segments.parse_date(field) }}
    end
{%- endmacro %}
