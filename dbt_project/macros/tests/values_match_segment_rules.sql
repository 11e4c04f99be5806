{# Fails for each value of the column that is not the name of a configured segment rule. #}
{% test values_match_segment_rules(model, column_name) %}
{%- set names = segments.segment_rule_names() -%}
select {{ column_name }}, count(*) as occurrences
from {{ model }}
where {{ column_name }} is null
   or {{ column_name }} not in ({% for n in names %}'{{ n }}'{{ ", " if not loop.last }}{% endfor %})
group by {{ column_name }}
{% endtest %}
