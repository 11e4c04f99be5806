{#
  Similarity of two people's names (0..1) from their name keys, as identity
  resolution compares them: Jaro-Winkler of first+last, also tried with
  first and last swapped; last names only when either first name is missing.
  a and b are relation aliases with first_name_key and last_name_key columns.
#}
{% macro name_similarity(a, b) -%}
    case
        when {{ a }}.first_name_key is null or {{ b }}.first_name_key is null
            then {{ segments.jaro_winkler(a ~ '.last_name_key', b ~ '.last_name_key') }}
        else greatest(
            {{ segments.jaro_winkler(a ~ '.first_name_key || ' ~ a ~ '.last_name_key', b ~ '.first_name_key || ' ~ b ~ '.last_name_key') }},
            {{ segments.jaro_winkler(a ~ '.first_name_key || ' ~ a ~ '.last_name_key', b ~ '.last_name_key || ' ~ b ~ '.first_name_key') }})
    end
{%- endmacro %}
