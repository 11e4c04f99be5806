{#
  contracts.BOOL_ACCEPTED: true/false, yes/no, y/n, 1/0, any case.
  Empty -> null (unknown); anything else -> null and flagged by the caller
  with is_invalid_bool.
#}
{% macro parse_bool(field) -%}
    case
        when lower(trim({{ field }})) in ('true', 'yes', 'y', '1') then true
        when lower(trim({{ field }})) in ('false', 'no', 'n', '0') then false
    end
{%- endmacro %}

{% macro is_invalid_bool(field) -%}
    (nullif(trim({{ field }}), '') is not null
     and lower(trim({{ field }})) not in ('true', 'yes', 'y', '1', 'false', 'no', 'n', '0'))
{%- endmacro %}
