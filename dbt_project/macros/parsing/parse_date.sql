{#
  A date in any of contracts.DATE_FORMATS_ACCEPTED:
  YYYY-MM-DD, DD.MM.YYYY, MM/DD/YYYY, DD Mon YYYY (07 Mar 1985).
  The separator decides the order of day and month, so 03.04.2020 is the
  3rd of April and 03/04/2020 is the 4th of March. Null when it fits none.
#}
{% macro parse_date(field) -%}
    {{ return(adapter.dispatch('parse_date', 'segments')(field)) }}
{%- endmacro %}

{% macro duckdb__parse_date(field) -%}
    cast(try_strptime(trim({{ field }}), ['%Y-%m-%d', '%d.%m.%Y', '%m/%d/%Y', '%d %b %Y']) as date)
{%- endmacro %}

{# Portable fallback: ISO dates only; add an adapter-specific macro for more formats. #}
{% macro default__parse_date(field) -%}
    {{ segments.try_cast("trim(" ~ field ~ ")", api.Column.translate_type('date')) }}
{%- endmacro %}
