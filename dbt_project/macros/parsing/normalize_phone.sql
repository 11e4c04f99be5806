{#
  Phone number to E.164 ("+49301234567"). A national number (trunk prefix 0)
  gets the calling code of `calling_code` (a SQL expression, e.g. from the
  record's country), or var('phone_default_calling_code', '49') (Germany)
  when that is null or not given:
    +49 30 1234567        -> +49301234567   (explicit country code)
    0049 30 1234567       -> +49301234567   (international 00 prefix)
    030/1234567           -> +49301234567   (national trunk prefix 0)
    +49 (0)30 123456      -> +4930123456    (the "(0)" trunk hint is dropped)
    tel:+49-30-1234567    -> +49301234567   (a tel: URI prefix is dropped)
    030 1234567 ext. 12   -> +49301234567   (an extension: x12, ext 12, #12)
  Null (the staging model keeps the raw value and flags it) when:
    - it has no prefix (+, 00, 0), or is too short/long for E.164;
    - it contains letters after the above are removed (0800-FLOWERS);
    - it is a placeholder: the subscriber part's last 7 digits are one digit
      repeated (0000000000, +49 30 1111111), see is_placeholder_phone.
  Portable: built from the cross_db regex macros (docs/portability.md).
#}
{% macro normalize_phone(field, calling_code=none) -%}
    {%- set default_cc = "'" ~ var('phone_default_calling_code', '49') ~ "'" -%}
    {%- set cc = default_cc if calling_code is none else "coalesce(" ~ calling_code ~ ", " ~ default_cc ~ ")" -%}
    {%- set cleaned = segments._phone_cleaned(field) -%}
    {%- set digits = segments.regexp_replace_all(cleaned, '[^0-9]', '') -%}
    {%- set e164 = segments._phone_e164_case(cleaned, digits, cc) -%}
    case
        when {{ segments.regexp_contains(cleaned, '[a-z]') }} then null
        when {{ segments.regexp_full_match(e164, '[+][1-9][0-9]{7,14}') }}
             and not {{ segments.is_placeholder_phone(e164) }}
            then {{ e164 }}
    end
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

{# the number without tel: prefix, "(0)" trunk hint and trailing extension #}
{% macro _phone_cleaned(field) -%}
    {%- set no_uri = segments.regexp_replace_all("lower(trim(" ~ field ~ "))", '^tel:', '') -%}
    {{ segments.regexp_replace_all("replace(" ~ no_uri ~ ", '(0)', '')", '\\s*(ext[.]?|extension|x|#)\\s*[0-9]{1,6}$', '') }}
{%- endmacro %}

{#
  A placeholder number: its last 7 digits are one digit repeated
  (0000000, 1111111, ...). Works on raw text too: non-digits are removed.
#}
{% macro is_placeholder_phone(field) -%}
    {%- set digits = segments.regexp_replace_all(field, '[^0-9]', '') -%}
    (length({{ digits }}) >= 7
     and replace(right({{ digits }}, 7), right({{ digits }}, 1), '') = '')
{%- endmacro %}
