{#
  Postal code: trimmed, upper case, inner whitespace collapsed; Dutch codes
  written without their space get it (1234AB -> 1234 AB). Never null when a
  value was delivered: is_valid_postal_code says whether it has the shape of
  the country's codes (DE/FR/ES/IT 5 digits, AT/CH/BE/DK/NO 4 digits, US
  ZIP or ZIP+4, NL, GB outward+inward code; any other country: 2-10 letters,
  digits, spaces or dashes).
#}
{% macro normalize_postal_code(field) -%}
    {%- set squeezed = "upper(nullif(" ~ segments.regexp_replace_all("trim(" ~ field ~ ")", '\\s+', ' ') ~ ", ''))" -%}
    case
        when {{ segments.regexp_full_match(squeezed, '[0-9]{4}[A-Z]{2}') }}
            then substr({{ squeezed }}, 1, 4) || ' ' || substr({{ squeezed }}, 5)
        else {{ squeezed }}
    end
{%- endmacro %}

{% macro is_valid_postal_code(normalized_field, country_code) -%}
    case
        when {{ normalized_field }} is null then true
        when {{ country_code }} in ('DE', 'FR', 'ES', 'IT') then {{ segments.regexp_full_match(normalized_field, '[0-9]{5}') }}
        when {{ country_code }} in ('AT', 'CH', 'BE', 'DK', 'NO') then {{ segments.regexp_full_match(normalized_field, '[0-9]{4}') }}
        when {{ country_code }} = 'US' then {{ segments.regexp_full_match(normalized_field, '[0-9]{5}(-[0-9]{4})?') }}
        when {{ country_code }} = 'NL' then {{ segments.regexp_full_match(normalized_field, '[0-9]{4} [A-Z]{2}') }}
        when {{ country_code }} = 'GB' then {{ segments.regexp_full_match(normalized_field, '[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}') }}
        else {{ segments.regexp_full_match(normalized_field, '[A-Z0-9][A-Z0-9 -]{0,8}[A-Z0-9]') }}
    end
{%- endmacro %}
