{# True when expr contains a match of pattern (a SQL string literal, quotes included). #}
{% macro regex_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_match', 'segments')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_match(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ pattern }})
{%- endmacro %}

{% macro default__regex_match(expr, pattern) -%}
    regexp_like({{ expr }}, {{ pattern }})
{%- endmacro %}
