{#
  Names. clean_name: the display value, whitespace trimmed and collapsed, a
  name delivered all in upper or all in lower case put in title case
  ("ANNA-LENA MÜLLER" -> "Anna-Lena Müller": the first letter of every
  space- or hyphen-separated part); mixed case is kept as delivered
  (McDonald, van der Berg). Null when empty.

  name_key: the matching key, lower case, German umlauts spelt out
  (ä -> ae, ö -> oe, ü -> ue, ß -> ss, so Müller = Mueller), other accents
  stripped (Martínez = Martinez), everything but letters removed
  (Anna-Lena = annalena). Null when nothing is left.

  PostgreSQL: upper()/lower() follow the database's LC_CTYPE, which must be
  a UTF-8 one (e.g. C.UTF-8) for Ü to become ü; see docs/portability.md.
#}
{% macro clean_name(field) -%}
    {%- set squeezed = "nullif(" ~ segments.regexp_replace_all("trim(" ~ field ~ ")", '\\s+', ' ') ~ ", '')" -%}
    case
        when {{ squeezed }} = upper({{ squeezed }}) or {{ squeezed }} = lower({{ squeezed }})
            then {{ segments.title_case_parts("lower(" ~ squeezed ~ ")") }}
        else {{ squeezed }}
    end
{%- endmacro %}

{#
  title_case_parts(expr): every part between spaces and hyphens starts with
  its first character upper-cased, the rest kept ("o'neil-smith x" ->
  "O'neil-Smith X"). Not initcap: PostgreSQL's starts a word after any
  non-alphanumeric character (O'Neil), Spark's only after a space.
#}
{% macro title_case_parts(expr) -%}
    {{ return(adapter.dispatch('title_case_parts', 'segments')(expr)) }}
{%- endmacro %}

{% macro duckdb__title_case_parts(expr) -%}
    array_to_string(
        list_transform(string_split({{ expr }}, ' '),
            lambda w: array_to_string(list_transform(string_split(w, '-'), lambda p: upper(p[1]) || p[2:]), '-')),
        ' ')
{%- endmacro %}

{% macro postgres__title_case_parts(expr) -%}
    (select string_agg(
                (select string_agg(upper(left(part, 1)) || substr(part, 2), '-' order by part_no)
                 from unnest(string_to_array(word, '-')) with ordinality as parts(part, part_no)),
                ' ' order by word_no)
     from unnest(string_to_array({{ expr }}, ' ')) with ordinality as words(word, word_no))
{%- endmacro %}

{% macro spark__title_case_parts(expr) -%}
    array_join(
        transform(split({{ expr }}, ' '),
            word -> array_join(transform(split(word, '-'), part -> concat(upper(substr(part, 1, 1)), substr(part, 2))), '-')),
        ' ')
{%- endmacro %}

{% macro default__title_case_parts(expr) -%}
    {{ segments._cross_db_missing('title_case_parts') }}
{%- endmacro %}


{% macro _spell_out_umlauts(expr) -%}
    replace(replace(replace(replace({{ expr }}, 'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss')
{%- endmacro %}

{% macro name_key(field) -%}
    nullif({{ segments.regexp_replace_all(segments.strip_accents(segments._spell_out_umlauts("lower(trim(" ~ field ~ "))")), '[^a-z]', '') }}, '')
{%- endmacro %}

{#
  strip_accents(expr): accented Latin letters to their base letter
  (é -> e, ł stays: it has no decomposition). DuckDB's strip_accents works
  on any script; elsewhere a translate() table holds the letters of
  U+00C0..U+024F that decompose into an ASCII letter and combining marks,
  generated from DuckDB's own answers, so keys agree for Latin names;
  letters outside the table are kept (then dropped by the [^a-z] filter of
  name_key / street_key).
#}
{% macro strip_accents(expr) -%}
    {{ return(adapter.dispatch('strip_accents', 'segments')(expr)) }}
{%- endmacro %}

{% macro duckdb__strip_accents(expr) -%}
    strip_accents({{ expr }})
{%- endmacro %}

{% macro default__strip_accents(expr) -%}
    translate({{ expr }},
        'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ',
        'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy')
{%- endmacro %}

{#
  A street as a matching key: like name_key, but digits kept and the usual
  abbreviations spelt out first (str. / str -> strasse, st. -> street), so
  "Hauptstr. 5" = "Hauptstraße 5" = "HAUPTSTRASSE 5".
#}
{% macro street_key(field) -%}
    {%- set wb = segments.regexp_word_boundary() -%}
    {%- set lowered = segments._spell_out_umlauts("lower(trim(" ~ field ~ "))") -%}
    {%- set expanded = segments.regexp_replace_all(
            segments.regexp_replace_all(lowered, 'str([.]|' ~ wb ~ ')', 'strasse '),
            wb ~ 'st[.]', 'street ') -%}
    nullif({{ segments.regexp_replace_all(segments.strip_accents(expanded), '[^a-z0-9]', '') }}, '')
{%- endmacro %}
