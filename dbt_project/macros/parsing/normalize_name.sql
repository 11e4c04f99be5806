{#
  Names. clean_name: the display value, whitespace trimmed and collapsed, a
  name delivered all in upper or all in lower case put in title case
  ("ANNA-LENA MÜLLER" -> "Anna-Lena Müller"); mixed case is kept as delivered
  (McDonald, van der Berg). Null when empty.

  name_key: the matching key, lower case, German umlauts spelt out
  (ä -> ae, ö -> oe, ü -> ue, ß -> ss, so Müller = Mueller), other accents
  stripped (Martínez = Martinez), everything but letters removed
  (Anna-Lena = annalena). Null when nothing is left.
#}
{% macro clean_name(field) -%}
    {{ return(adapter.dispatch('clean_name', 'segments')(field)) }}
{%- endmacro %}

{% macro duckdb__clean_name(field) -%}
    {%- set squeezed = "nullif(regexp_replace(trim(" ~ field ~ "), '\\s+', ' ', 'g'), '')" -%}
    case
        when {{ squeezed }} = upper({{ squeezed }}) or {{ squeezed }} = lower({{ squeezed }})
            then array_to_string(
                list_transform(string_split(lower({{ squeezed }}), ' '),
                    lambda w: array_to_string(list_transform(string_split(w, '-'), lambda p: upper(p[1]) || p[2:]), '-')),
                ' ')
        else {{ squeezed }}
    end
{%- endmacro %}

{% macro default__clean_name(field) -%}
    {%- set squeezed = "nullif(regexp_replace(trim(" ~ field ~ "), '\\s+', ' ', 'g'), '')" -%}
    case
        when {{ squeezed }} = upper({{ squeezed }}) or {{ squeezed }} = lower({{ squeezed }})
            then initcap({{ squeezed }})
        else {{ squeezed }}
    end
{%- endmacro %}

{% macro _spell_out_umlauts(expr) -%}
    replace(replace(replace(replace({{ expr }}, 'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss')
{%- endmacro %}

{% macro name_key(field) -%}
    {{ return(adapter.dispatch('name_key', 'segments')(field)) }}
{%- endmacro %}

{% macro duckdb__name_key(field) -%}
    nullif(regexp_replace(strip_accents({{ segments._spell_out_umlauts("lower(trim(" ~ field ~ "))") }}), '[^a-z]', '', 'g'), '')
{%- endmacro %}

{# Portable fallback: no accent stripping (add an adapter macro with unaccent/translate). #}
{% macro default__name_key(field) -%}
    nullif(regexp_replace({{ segments._spell_out_umlauts("lower(trim(" ~ field ~ "))") }}, '[^a-z]', '', 'g'), '')
{%- endmacro %}

{#
  A street as a matching key: like name_key, but digits kept and the usual
  abbreviations spelt out first (str. / str -> strasse, st. -> street), so
  "Hauptstr. 5" = "Hauptstraße 5" = "HAUPTSTRASSE 5".
#}
{% macro street_key(field) -%}
    {%- set lowered = segments._spell_out_umlauts("lower(trim(" ~ field ~ "))") -%}
    {%- set expanded = "regexp_replace(regexp_replace(" ~ lowered ~ ", 'str(\\.|\\b)', 'strasse ', 'g'), '\\bst\\.', 'street ', 'g')" -%}
    {{ return(adapter.dispatch('street_key', 'segments')(expanded)) }}
{%- endmacro %}

{% macro duckdb__street_key(expanded) -%}
    nullif(regexp_replace(strip_accents({{ expanded }}), '[^a-z0-9]', '', 'g'), '')
{%- endmacro %}

{% macro default__street_key(expanded) -%}
    nullif(regexp_replace({{ expanded }}, '[^a-z0-9]', '', 'g'), '')
{%- endmacro %}
