{#
  Email as an identifier: trimmed, lower case, null when empty. For the
  domains in var('email_plus_addressing_domains') (providers that deliver
  local+tag@domain to local@domain), the +tag is stripped, so
  Anna+shop@GMail.com and anna@gmail.com are one identifier. Other domains
  keep the +: there it may be part of a real, distinct mailbox.
#}
{% macro normalize_email(field) -%}
    {%- set domains = var('email_plus_addressing_domains', []) -%}
    {%- set cleaned = "nullif(lower(trim(" ~ field ~ ")), '')" -%}
    {%- if domains | length == 0 -%}
        {{ cleaned }}
    {%- else -%}
    case
        when split_part({{ cleaned }}, '@', 2) in ({% for d in domains %}'{{ d | lower }}'{{ ", " if not loop.last }}{% endfor %})
             and {{ dbt.position("'+'", "split_part(" ~ cleaned ~ ", '@', 1)") }} > 1
            then split_part(split_part({{ cleaned }}, '@', 1), '+', 1) || '@' || split_part({{ cleaned }}, '@', 2)
        else {{ cleaned }}
    end
    {%- endif -%}
{%- endmacro %}

{#
  True when a normalized email looks like local@domain.tld (no whitespace,
  one @). Used to flag, never to drop.
#}
{% macro is_valid_email(normalized_field) -%}
    {{ segments.regexp_full_match(normalized_field, '[^@\s]+@[^@\s]+\.[^@\s]+') }}
{%- endmacro %}
