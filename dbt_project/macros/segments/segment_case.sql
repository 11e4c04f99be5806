{#
  The configured rules compiled into CASE expressions evaluated in priority
  order: the first rule whose `when` is true is the customer's primary
  segment. Emits three columns: segment, segment_priority, segment_rule.
  Rule expressions may reference columns of marts.customer_profile only; a
  NULL result (e.g. days_since_last_order of a customer who never ordered)
  counts as not matching. A customer no rule matches gets null, which the
  not_null test reports (keep a catch-all rule such as `true` last).
#}
{% macro segment_case() -%}
    {%- set rules = segments.segment_rules() -%}
    case
    {%- for rule in rules %}
        when ({{ rule['when'] }}) then {{ segments.sql_string(rule['name']) }}
    {%- endfor %}
    end as segment,
    case
    {%- for rule in rules %}
        when ({{ rule['when'] }}) then {{ rule['priority'] | int }}
    {%- endfor %}
    end as segment_priority,
    case
    {%- for rule in rules %}
        when ({{ rule['when'] }}) then {{ segments.sql_string(rule['when'] | trim) }}
    {%- endfor %}
    end as segment_rule
{%- endmacro %}
