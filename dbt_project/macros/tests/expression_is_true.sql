{# Fails for each row (matching the optional where) where the expression is not true. #}
{% test expression_is_true(model, expression, row_condition=none, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if row_condition %}
  and ({{ row_condition }})
{%- endif %}
{% endtest %}
