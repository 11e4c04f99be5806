{#
  A cast that yields null instead of failing on a bad value, so a messy raw
  value is flagged downstream rather than aborting the build. For text
  input (raw values); leading and trailing spaces are ignored; an integer
  type takes whole numbers only ('1.5' -> null, not 2).
    {{ segments.try_cast("quantity", "integer") }}
    {{ segments.try_cast("unit_price", "decimal(18, 4)") }}
  Types every implementation takes: integer / int / bigint / smallint,
  decimal(p, s) / numeric(p, s), double precision / double / float / real,
  boolean, date (YYYY-MM-DD), varchar / text / string.
  dbt's own safe_cast is a plain (raising) cast on DuckDB and PostgreSQL.
#}
{% macro try_cast(field, type) -%}
    {{ return(adapter.dispatch('try_cast', 'segments')(field, type)) }}
{%- endmacro %}

{% macro default__try_cast(field, type) -%}
    {{ dbt.safe_cast(field, type) }}
{%- endmacro %}

{#
  DuckDB rounds '1.5' to 2 when casting text to an integer; the other
  warehouses (and the loader's int rule) say it is no integer, so integer
  types only take whole numbers here too.
#}
{% macro duckdb__try_cast(field, type) -%}
    {%- if type | lower | trim in ('integer', 'int', 'int4', 'bigint', 'int8', 'smallint', 'int2') -%}
    case when regexp_full_match(trim(cast({{ field }} as varchar)), '[+-]?[0-9]+') then try_cast({{ field }} as {{ type }}) end
    {%- else -%}
    try_cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__try_cast(field, type) -%}
    {%- set t = type | lower | trim -%}
    {%- if t in ('double precision', 'float', 'float8') -%}{%- set type = 'double' -%}
    {%- elif t in ('varchar', 'text') -%}{%- set type = 'string' -%}
    {%- endif -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#
  PostgreSQL has no try_cast (pg_input_is_valid arrives in 16), so each type
  family is guarded by its pattern and range, in nested CASEs (AND does not
  fix the order of evaluation). An unknown type stops compilation.
#}
{% macro postgres__try_cast(field, type) -%}
    {%- set t = type | lower | replace(' ', '') -%}
    {%- set v = "trim(cast(" ~ field ~ " as text))" -%}
    {%- set int_ranges = {'smallint': 32767, 'int2': 32767, 'integer': 2147483647, 'int': 2147483647,
                          'int4': 2147483647, 'bigint': 9223372036854775807, 'int8': 9223372036854775807} -%}
    {%- set decimal_match = modules.re.match('^(decimal|numeric)\((\d+),(\d+)\)$', t) -%}
    {%- if t in int_ranges -%}
        {%- set limit = int_ranges[t] -%}
    case when {{ v }} ~ '^[+-]?[0-9]{1,19}$' then
        case when cast({{ v }} as numeric) between {{ -limit - 1 }} and {{ limit }} then cast({{ v }} as {{ type }}) end
    end
    {%- elif decimal_match -%}
        {%- set precision = decimal_match.group(2) | int -%}
        {%- set scale = decimal_match.group(3) | int -%}
    case when {{ v }} ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$' then
        case when abs(round(cast({{ v }} as numeric), {{ scale }})) < power(cast(10 as numeric), {{ precision - scale }})
            then cast({{ v }} as {{ type }}) end
    end
    {%- elif t in ('decimal', 'numeric') -%}
    case when {{ v }} ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$' then cast({{ v }} as numeric) end
    {%- elif t in ('doubleprecision', 'double', 'float', 'float8', 'real', 'float4') -%}
    case when {{ v }} ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$' then cast({{ v }} as {{ 'real' if t in ('real', 'float4') else 'double precision' }}) end
    {%- elif t in ('boolean', 'bool') -%}
    case
        when lower({{ v }}) in ('true', 't', 'yes', 'y', 'on', '1') then true
        when lower({{ v }}) in ('false', 'f', 'no', 'n', 'off', '0') then false
    end
    {%- elif t == 'date' -%}
    case when {{ v }} ~ '^[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}$' then {{ segments.parse_date(v) }} end
    {%- elif t in ('timestamp', 'timestampwithouttimezone') -%}
    {{ segments.parse_timestamp_utc(v) }}
    {%- elif t in ('varchar', 'text', 'string') or t.startswith('varchar(') or t.startswith('charactervarying') -%}
    cast({{ field }} as {{ type }})
    {%- else -%}
    {{ exceptions.raise_compiler_error("segments.try_cast: no safe cast to '" ~ type ~ "' on postgres; add a branch to postgres__try_cast in macros/cross_db/try_cast.sql [rule: cross_db_try_cast_type]") }}
    {%- endif -%}
{%- endmacro %}
