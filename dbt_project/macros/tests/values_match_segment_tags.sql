{# Fails for each value of the column that is not the name of a configured tag (vars.segment_tags). #}
{% test values_match_segment_tags(model, column_name) %}
{%- set names = segments.segment_tag_names() -%}
select {{ column_name }}, count(*) as occurrences
from {{ model }}
where {{ column_name }} is null
{%- if names | length > 0 %}
   or {{ column_name }} not in ({% for n in names %}'{{ n }}'{{ ", " if not loop.last }}{% endfor %})
{%- endif %}
group by {{ column_name }}
{% endtest %}
