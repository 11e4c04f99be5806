{#
  "as materialized" for a CTE that is read several times and is expensive
  (DuckDB would otherwise inline it into every reference). Adapters without
  the keyword get a plain CTE.
#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'segments')()) }}
{%- endmacro %}

{% macro duckdb__materialized_cte() -%}materialized{%- endmacro %}

{% macro postgres__materialized_cte() -%}materialized{%- endmacro %}

{% macro default__materialized_cte() -%}{%- endmacro %}

{% macro spark__materialized_cte() -%}{%- endmacro %}
