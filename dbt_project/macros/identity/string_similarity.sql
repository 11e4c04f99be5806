{#
  String similarity functions differ between warehouses; models call these
  dispatched macros. A portability layer adds postgres__ (fuzzystrmatch:
  levenshtein; a Jaro-Winkler UDF or pg_similarity) and spark__ versions.
#}

{# Jaro-Winkler similarity in [0, 1]; null when either side is null. #}
{% macro jaro_winkler(a, b) -%}
    {{ return(adapter.dispatch('jaro_winkler', 'segments')(a, b)) }}
{%- endmacro %}

{% macro duckdb__jaro_winkler(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{% macro default__jaro_winkler(a, b) -%}
    {{ exceptions.raise_compiler_error("jaro_winkler has no implementation for adapter " ~ adapter.type() ~ ": add " ~ adapter.type() ~ "__jaro_winkler in macros/identity/string_similarity.sql") }}
{%- endmacro %}

{#
  Edit distance counting a swap of two adjacent letters as one edit
  (Damerau-Levenshtein, optimal string alignment); null when either is null.
#}
{% macro edit_distance(a, b) -%}
    {{ return(adapter.dispatch('edit_distance', 'segments')(a, b)) }}
{%- endmacro %}

{% macro duckdb__edit_distance(a, b) -%}
    damerau_levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro default__edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}
