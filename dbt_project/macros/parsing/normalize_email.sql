{# Email as an identifier: trimmed, lower case, null when empty. #}
{% macro normalize_email(field) -%}
    nullif(lower(trim({{ field }})), '')
{%- endmacro %}

{#
  True when a normalized email looks like local@domain.tld (no spaces,
  one @). Used to flag, never to drop.
#}
{% macro is_valid_email(normalized_field) -%}
    {{ return(adapter.dispatch('is_valid_email', 'segments')(normalized_field)) }}
{%- endmacro %}

{% macro default__is_valid_email(normalized_field) -%}
    ({{ normalized_field }} like '%_@_%._%' and {{ normalized_field }} not like '% %' and {{ normalized_field }} not like '%@%@%')
{%- endmacro %}

{% macro duckdb__is_valid_email(normalized_field) -%}
    regexp_full_match({{ normalized_field }}, '[^@\s]+@[^@\s]+\.[^@\s]+')
{%- endmacro %}
