{#
  True when a date lies in the last `days` days ending at as_of_date:
  as_of_date - days < date <= as_of_date (so "last 30 days" holds 30 dates).
#}
{% macro in_window(date_column, days) -%}
    ({{ date_column }} > cast({{ dbt.dateadd('day', -1 * days, as_of_date()) }} as date)
     and {{ date_column }} <= {{ as_of_date() }})
{%- endmacro %}

{# True when a date is on or before as_of_date (features never see the future). #}
{% macro up_to_as_of(date_column) -%}
    ({{ date_column }} <= {{ as_of_date() }})
{%- endmacro %}
