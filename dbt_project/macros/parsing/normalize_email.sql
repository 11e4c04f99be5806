{# Email as an identifier: trimmed, lower case, null when empty. #}
{% macro normalize_email(field) -%}
    nullif(lower(trim({{ field }})), '')
{%- endmacro %}

{#
  True when a normalized email looks like local@domain.tld (no whitespace,
  one @). Used to flag, never to drop.
#}
{% macro is_valid_email(normalized_field) -%}
    {{ segments.regexp_full_match(normalized_field, '[^@\s]+@[^@\s]+\.[^@\s]+') }}
{%- endmacro %}
