{#
  Phone number to E.164 ("+49301234567"). A national number (trunk prefix 0)
  gets the calling code of `calling_code` (a SQL expression, e.g. from the
  record's country), or var('phone_default_calling_code', '49') (Germany)
  when that is null or not given:
    +49 30 1234567   -> +49301234567   (explicit country code)
    0049 30 1234567  -> +49301234567   (international 00 prefix)
    030/1234567      -> +49301234567   (national trunk prefix 0)
    +49 (0)30 123456 -> +4930123456    (the "(0)" trunk hint is dropped)
  Anything else (no prefix, too short/long) yields null; the staging model
  keeps the raw value and flags it.
#}
{% macro normalize_phone(field, calling_code=none) -%}
    {%- set default_cc = "'" ~ var('phone_default_calling_code', '49') ~ "'" -%}
    {%- set cc = default_cc if calling_code is none else "coalesce(" ~ calling_code ~ ", " ~ default_cc ~ ")" -%}
    {%- set cleaned = "replace(trim(" ~ field ~ "), '(0)', '')" -%}
    {%- set digits = segments.regexp_replace_all(cleaned, '[^0-9]', '') -%}
    {%- set e164 = segments._phone_e164_case(cleaned, digits, cc) -%}
    case when {{ segments.regexp_full_match(e164, '[+][1-9][0-9]{7,14}') }} then {{ e164 }} end
{%- endmacro %}

{% macro _phone_e164_case(cleaned, digits, cc) -%}
    case
        when {{ digits }} is null or {{ digits }} = '' then null
        when {{ cleaned }} like '+%' then '+' || {{ digits }}
        when {{ digits }} like '00%' then '+' || substr({{ digits }}, 3)
        when {{ digits }} like '0%' then '+' || {{ cc }} || substr({{ digits }}, 2)
        else null
    end
{%- endmacro %}
