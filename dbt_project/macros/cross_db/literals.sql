{#
  Literals and type names that differ between warehouses.

  string_literal(text): the SQL string literal holding `text` exactly.
  Standard SQL (DuckDB, PostgreSQL with standard_conforming_strings) doubles
  single quotes and keeps backslashes; Spark SQL reads backslash escapes in
  literals and treats '' as two adjacent literals, so it escapes both.

    {{ segments.string_literal("it's") }}   ->  'it''s'  /  'it\'s' (spark)
#}
{% macro string_literal(text) -%}
    {{ return(adapter.dispatch('string_literal', 'segments')(text)) }}
{%- endmacro %}

{% macro default__string_literal(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__string_literal(text) -%}
    '{{ text | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}


{#
  type_double(): an 8-byte floating point type. dbt.type_float() is not the
  same thing everywhere (FLOAT is 4 bytes on DuckDB), so shares and
  percentiles use this. Spark has no DOUBLE PRECISION.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'segments')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
