{#
  Functions whose name or syntax differs between warehouses, for models to
  come (fuzzy identity matching, RFM, history). Each has a DuckDB, a
  PostgreSQL and a Spark implementation; an adapter without one stops
  compilation with a message naming the macro to add.

  levenshtein(a, b)          edit distance of two strings (null if either is null).
                             PostgreSQL: needs `create extension fuzzystrmatch`
                             (in contrib, shipped with Debian's server package).
  percentile_cont(expr, p)   aggregate: the p-quantile (0 <= p <= 1) of expr,
                             interpolated (DuckDB quantile_cont, PostgreSQL
                             percentile_cont ... within group, Spark percentile).
  epoch_seconds(ts)          seconds since 1970-01-01 00:00:00 of a timestamp
                             without time zone (read as UTC).
  sha256(text)               lower-case hex SHA-256 of a string's UTF-8 bytes
                             (salted pseudonyms: sha256(salt || value)); for a
                             plain key, dbt.hash (md5) is enough.
  arg_max(value, key)        aggregate: value of the row with the largest key
  arg_min(value, key)        (smallest key); rows with a null key or a null
                             value are ignored (DuckDB's definition);
                             ties give any of the tied values, so break ties in
                             the key (e.g. key = a string 'ts|id') when it matters.
  row_hash([exprs])          a 64-bit hash of the values of a list of expressions
                             (nulls included), as decimal(38,0): sum() of it
                             over any number of rows neither overflows nor
                             wraps, so count(*) and sum(row_hash) fingerprint a
                             set of rows. Not equal across warehouses or
                             versions: compare fingerprints only with ones the
                             same warehouse computed (a mismatch must only cost
                             time, never change a result).
#}

{% macro levenshtein(a, b) -%}
    {{ return(adapter.dispatch('levenshtein', 'segments')(a, b)) }}
{%- endmacro %}

{% macro duckdb__levenshtein(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro postgres__levenshtein(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro spark__levenshtein(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro default__levenshtein(a, b) -%}
    {{ segments._cross_db_missing('levenshtein') }}
{%- endmacro %}


{% macro percentile_cont(expr, p) -%}
    {{ return(adapter.dispatch('percentile_cont', 'segments')(expr, p)) }}
{%- endmacro %}

{% macro duckdb__percentile_cont(expr, p) -%}
    quantile_cont({{ expr }}, {{ p }})
{%- endmacro %}

{% macro postgres__percentile_cont(expr, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro spark__percentile_cont(expr, p) -%}
    percentile({{ expr }}, {{ p }})
{%- endmacro %}

{% macro default__percentile_cont(expr, p) -%}
    {{ segments._cross_db_missing('percentile_cont') }}
{%- endmacro %}


{% macro epoch_seconds(ts) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'segments')(ts)) }}
{%- endmacro %}

{% macro duckdb__epoch_seconds(ts) -%}
    epoch(cast({{ ts }} as timestamp))
{%- endmacro %}

{% macro postgres__epoch_seconds(ts) -%}
    extract(epoch from cast({{ ts }} as timestamp))
{%- endmacro %}

{# Spark timestamps are instants shown in the session zone (UTC in profiles.yml). #}
{% macro spark__epoch_seconds(ts) -%}
    (unix_micros(cast({{ ts }} as timestamp)) / 1000000.0)
{%- endmacro %}

{% macro default__epoch_seconds(ts) -%}
    {{ segments._cross_db_missing('epoch_seconds') }}
{%- endmacro %}


{% macro sha256(text) -%}
    {{ return(adapter.dispatch('sha256', 'segments')(text)) }}
{%- endmacro %}

{% macro duckdb__sha256(text) -%}
    sha256({{ text }})
{%- endmacro %}

{% macro postgres__sha256(text) -%}
    encode(sha256(convert_to({{ text }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__sha256(text) -%}
    sha2({{ text }}, 256)
{%- endmacro %}

{% macro default__sha256(text) -%}
    {{ segments._cross_db_missing('sha256') }}
{%- endmacro %}

{% macro row_hash(exprs) -%}
    {{ return(adapter.dispatch('row_hash', 'segments')(exprs)) }}
{%- endmacro %}

{% macro duckdb__row_hash(exprs) -%}
    cast(hash({{ exprs | join(', ') }}) as decimal(38, 0))
{%- endmacro %}

{% macro postgres__row_hash(exprs) -%}
    cast(hashtextextended(concat_ws(chr(31)
        {%- for e in exprs %}, coalesce(cast({{ e }} as text), chr(30)){% endfor %}), 0) as numeric(38, 0))
{%- endmacro %}

{% macro spark__row_hash(exprs) -%}
    cast(xxhash64({{ exprs | join(', ') }}) as decimal(38, 0))
{%- endmacro %}

{% macro default__row_hash(exprs) -%}
    {{ segments._cross_db_missing('row_hash') }}
{%- endmacro %}


{% macro arg_max(value, key) -%}
    {{ return(adapter.dispatch('arg_max', 'segments')(value, key, 'desc')) }}
{%- endmacro %}

{% macro arg_min(value, key) -%}
    {{ return(adapter.dispatch('arg_max', 'segments')(value, key, 'asc')) }}
{%- endmacro %}

{% macro duckdb__arg_max(value, key, direction) -%}
    {{ 'arg_max' if direction == 'desc' else 'arg_min' }}({{ value }}, {{ key }})
{%- endmacro %}

{% macro postgres__arg_max(value, key, direction) -%}
    (array_agg({{ value }} order by {{ key }} {{ direction }}) filter (where {{ key }} is not null and {{ value }} is not null))[1]
{%- endmacro %}

{% macro spark__arg_max(value, key, direction) -%}
    {{ 'max_by' if direction == 'desc' else 'min_by' }}({{ value }}, case when {{ value }} is not null then {{ key }} end)
{%- endmacro %}

{% macro default__arg_max(value, key, direction) -%}
    {{ segments._cross_db_missing('arg_max') }}
{%- endmacro %}


{% macro _cross_db_missing(name) -%}
    {{ exceptions.raise_compiler_error("segments." ~ name ~ " has no implementation for adapter '" ~ adapter.type() ~ "': add " ~ adapter.type() ~ "__" ~ name ~ " in macros/cross_db/ [rule: cross_db_dispatch]") }}
{%- endmacro %}
