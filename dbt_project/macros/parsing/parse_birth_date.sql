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
