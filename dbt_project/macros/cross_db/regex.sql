{#
  Regular expressions, one syntax for every warehouse.

  `pattern` is a plain regular expression given as a Jinja string (not a SQL
  literal): these macros quote it for the adapter. Write patterns in the
  common subset of RE2 (DuckDB), PostgreSQL AREs and Java regex (Spark):
  character classes [...], [^...], \s \d inside or outside brackets,
  quantifiers * + ? {m,n}, alternation |, groups (...), anchors are added for
  you by regexp_full_match. No backreferences, no lookaround, no POSIX
  [[:classes:]] (Java lacks them), no flags.

    {{ segments.regexp_full_match('email', '[^@\s]+@[^@\s]+\.[^@\s]+') }}
    {{ segments.regexp_replace_all('phone', '[^0-9]', '') }}

  Spark processes backslash escapes inside string literals, so its
  implementations double every backslash; PostgreSQL and DuckDB take the
  pattern as written (standard_conforming_strings).
#}

{# True when the whole of `expr` matches `pattern`; null when expr is null. #}
{% macro regexp_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'segments')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regexp_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, {{ segments.string_literal(pattern) }})
{%- endmacro %}

{% macro postgres__regexp_full_match(expr, pattern) -%}
    ({{ expr }} ~ {{ segments.string_literal('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}

{% macro spark__regexp_full_match(expr, pattern) -%}
    ({{ expr }} rlike {{ segments.string_literal('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}

{% macro default__regexp_full_match(expr, pattern) -%}
    {{ segments._cross_db_missing("regexp_full_match") }}
{%- endmacro %}


{#
  `expr` with every match of `pattern` replaced by `replacement` (literal
  text: no backreferences, their syntax differs between warehouses).
#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'segments')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ segments.string_literal(pattern) }}, {{ segments.string_literal(replacement) }}, 'g')
{%- endmacro %}

{% macro postgres__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ segments.string_literal(pattern) }}, {{ segments.string_literal(replacement) }}, 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ segments.string_literal(pattern) }}, {{ segments.string_literal(replacement) }})
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    {{ segments._cross_db_missing("regexp_replace_all") }}
{%- endmacro %}


{# True when some part of `expr` matches `pattern`; null when expr is null. #}
{% macro regexp_contains(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_contains', 'segments')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regexp_contains(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ segments.string_literal(pattern) }})
{%- endmacro %}

{% macro postgres__regexp_contains(expr, pattern) -%}
    ({{ expr }} ~ {{ segments.string_literal(pattern) }})
{%- endmacro %}

{% macro spark__regexp_contains(expr, pattern) -%}
    ({{ expr }} rlike {{ segments.string_literal(pattern) }})
{%- endmacro %}

{% macro default__regexp_contains(expr, pattern) -%}
    {{ segments._cross_db_missing("regexp_contains") }}
{%- endmacro %}


{#
  regexp_word_boundary(): the zero-width word-boundary escape to put into a
  pattern: \b in RE2 (DuckDB) and Java (Spark), \y in PostgreSQL (where \b
  is a backspace).
#}
{% macro regexp_word_boundary() -%}
    {{ return(adapter.dispatch('regexp_word_boundary', 'segments')()) }}
{%- endmacro %}

{% macro default__regexp_word_boundary() -%}\b{%- endmacro %}

{% macro postgres__regexp_word_boundary() -%}\y{%- endmacro %}
