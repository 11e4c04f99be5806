{#
  A cast that yields null instead of failing on a bad value, so a messy raw
  value is flagged downstream rather than aborting the build.
  dbt's own safe_cast is a plain cast on duckdb.
#}
{% macro try_cast(field, type) -%}
    {{ return(adapter.dispatch('try_cast', 'segments')(field, type)) }}
{%- endmacro %}

{% macro default__try_cast(field, type) -%}
    {{ dbt.safe_cast(field, type) }}
{%- endmacro %}

{% macro duckdb__try_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
