{# Trimmed text, or null when empty: raw extracts deliver missing values as ''. #}
{% macro blank_to_null(field) -%}
    nullif(trim({{ field }}), '')
{%- endmacro %}
