{#
  An ISO 8601 timestamp with a UTC offset (or a trailing Z) converted to a
  timestamp without time zone in UTC. A value without offset is read as UTC
  (the profile sets the session TimeZone to UTC). Null when unparseable.
#}
{% macro parse_timestamp_utc(field) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'segments')(field)) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(field) -%}
    cast(timezone('UTC', try_cast(trim({{ field }}) as timestamptz)) as timestamp)
{%- endmacro %}

{% macro default__parse_timestamp_utc(field) -%}
    {{ segments.try_cast("trim(" ~ field ~ ")", api.Column.translate_type('timestamp')) }}
{%- endmacro %}
