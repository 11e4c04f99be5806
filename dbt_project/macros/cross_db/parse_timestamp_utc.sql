{#
  An ISO 8601 timestamp with a UTC offset (or a trailing Z) converted to a
  timestamp without time zone in UTC. A value without offset is read as UTC.
  Null when unparseable or not a real instant (month 13, Feb 30): never an
  error. DuckDB and Spark read offset-less values in the session time zone,
  which the profile sets to UTC (TimeZone / spark.sql.session.timeZone).
#}
{% macro parse_timestamp_utc(field) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'segments')(field)) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(field) -%}
    cast(timezone('UTC', try_cast(trim({{ field }}) as timestamptz)) as timestamp)
{%- endmacro %}

{#
  PostgreSQL raises on a bad timestamp, so the shape is checked first (in
  nested CASEs: AND does not fix the order of evaluation)
  (date, optional time with seconds and fraction, optional Z / +hh / +hh:mm
  offset) and the date part must name a real day. An offset converts to UTC;
  no offset is taken as UTC whatever the session's TimeZone.
#}
{% macro postgres__parse_timestamp_utc(field) -%}
    {%- set v = "upper(trim(" ~ field ~ "))" -%}
    {%- set time = "[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?" -%}
    {%- set offset = "(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)" -%}
    case when {{ v }} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}({{ time }}{{ offset }}?)?$' then
        case when {{ segments._postgres_safe_date("substr(" ~ v ~ ", 1, 4)", "substr(" ~ v ~ ", 6, 2)", "substr(" ~ v ~ ", 9, 2)") }} is not null then
            case
                when {{ v }} ~ '{{ time }}{{ offset }}$'
                    then cast({{ v }} as timestamp with time zone) at time zone 'UTC'
                else cast({{ v }} as timestamp)
            end
        end
    end
{%- endmacro %}

{% macro spark__parse_timestamp_utc(field) -%}
    try_cast(trim({{ field }}) as timestamp)
{%- endmacro %}

{% macro default__parse_timestamp_utc(field) -%}
    {{ segments.try_cast("trim(" ~ field ~ ")", api.Column.translate_type('timestamp')) }}
{%- endmacro %}
