{#
  The segment rules from var('segment_rules') (dbt_project.yml), checked and
  sorted by priority. Each rule: name, priority, description, when (a SQL
  boolean expression over marts.customer_profile columns).
  A broken configuration stops compilation with a message naming the rule.
#}
{% macro segment_rules() -%}
    {%- set rules = var('segment_rules', []) -%}
    {%- if rules is none or rules | length == 0 -%}
        {{ exceptions.raise_compiler_error("var segment_rules is empty: configure at least one rule in dbt_project.yml [rule: segment_rules_present]") }}
    {%- endif -%}
    {%- set seen_names = [] -%}
    {%- set seen_priorities = [] -%}
    {%- for rule in rules -%}
        {%- set where = "segment_rules[" ~ loop.index0 ~ "]" -%}
        {%- for key in ['name', 'priority', 'when'] -%}
            {%- if rule[key] is not defined or rule[key] is none or rule[key] | string | trim == '' -%}
                {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ ": missing '" ~ key ~ "' [rule: segment_rule_fields]") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', rule['name'] | string) -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ ": name '" ~ rule['name'] ~ "' must be lower_snake_case [rule: segment_rule_name]") }}
        {%- endif -%}
        {%- if rule['priority'] is not number -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ " (" ~ rule['name'] ~ "): priority must be an integer [rule: segment_rule_priority]") }}
        {%- endif -%}
        {%- if rule['name'] in seen_names -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ ": duplicate segment name '" ~ rule['name'] ~ "' [rule: segment_rule_unique_name]") }}
        {%- endif -%}
        {%- if rule['priority'] in seen_priorities -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ " (" ~ rule['name'] ~ "): duplicate priority " ~ rule['priority'] ~ " [rule: segment_rule_unique_priority]") }}
        {%- endif -%}
        {%- do seen_names.append(rule['name']) -%}
        {%- do seen_priorities.append(rule['priority']) -%}
    {%- endfor -%}
    {{ return(rules | sort(attribute='priority')) }}
{%- endmacro %}

{% macro segment_rule_names() -%}
    {{ return(segments.segment_rules() | map(attribute='name') | list) }}
{%- endmacro %}

{# A SQL string literal holding `text` (quoting per adapter: macros/cross_db/literals.sql). #}
{% macro sql_string(text) -%}
    {{ segments.string_literal(text | string) }}
{%- endmacro %}

{#
  One row per configured rule (segment, segment_priority, segment_rule,
  segment_description), as portable select/union all.
#}
{% macro segment_rules_rows() -%}
    {%- for rule in segments.segment_rules() %}
    select
        {{ segments.sql_string(rule['name']) }} as segment,
        {{ rule['priority'] | int }} as segment_priority,
        {{ segments.sql_string(rule['when'] | trim) }} as segment_rule,
        {{ segments.sql_string(rule.get('description', '') or '') }} as segment_description
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
