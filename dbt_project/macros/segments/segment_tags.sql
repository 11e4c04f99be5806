{#
  Non-exclusive customer tags from var('segment_tags') (dbt_project.yml), the
  same shape as segment_rules: name, priority (display order), description,
  when (a SQL boolean expression over marts.customer_profile columns). Unlike
  segments, every tag whose `when` is true applies; a NULL result counts as
  false. segmentation.rules checks the expressions before dbt runs
  (`segments rules-check`); this macro checks the structure so a broken list
  stops compilation with a message naming the tag.
#}
{% macro segment_tags() -%}
    {%- set tags = var('segment_tags', []) -%}
    {%- if tags is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set seen_names = [] -%}
    {%- set seen_priorities = [] -%}
    {%- for tag in tags -%}
        {%- set where = "segment_tags[" ~ loop.index0 ~ "]" -%}
        {%- if tag is not mapping -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ ": each tag must be a mapping with name, priority, description, when [rule: segment_tag_fields]") }}
        {%- endif -%}
        {%- for key in ['name', 'priority', 'when'] -%}
            {%- if tag[key] is not defined or tag[key] is none or tag[key] | string | trim == '' -%}
                {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ ": missing '" ~ key ~ "' [rule: segment_tag_fields]") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', tag['name'] | string) -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ ": tag name '" ~ tag['name'] ~ "' must be lower_snake_case [rule: segment_tag_name]") }}
        {%- endif -%}
        {%- if tag['priority'] is not number -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ " (" ~ tag['name'] ~ "): priority must be an integer [rule: segment_tag_priority]") }}
        {%- endif -%}
        {%- if tag['name'] in seen_names -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ ": duplicate tag name '" ~ tag['name'] ~ "' [rule: segment_tag_unique_name]") }}
        {%- endif -%}
        {%- if tag['priority'] in seen_priorities -%}
            {{ exceptions.raise_compiler_error("dbt_project.yml vars." ~ where ~ " (" ~ tag['name'] ~ "): duplicate priority " ~ tag['priority'] ~ " [rule: segment_tag_unique_priority]") }}
        {%- endif -%}
        {%- do seen_names.append(tag['name']) -%}
        {%- do seen_priorities.append(tag['priority']) -%}
    {%- endfor -%}
    {{ return(tags | sort(attribute='priority')) }}
{%- endmacro %}

{% macro segment_tag_names() -%}
    {{ return(segments.segment_tags() | map(attribute='name') | list) }}
{%- endmacro %}

{#
  The customer's tags as one varchar: the names of the tags that apply,
  sorted by name, comma-separated; '' when none applies. concat_ws skips
  NULLs (DuckDB, Postgres, Spark alike).
#}
{% macro segment_tags_list() -%}
    {%- set tags = segments.segment_tags() | sort(attribute='name') -%}
    {%- if tags | length == 0 -%}
        cast('' as {{ dbt.type_string() }})
    {%- else -%}
        concat_ws(','
        {%- for tag in tags %},
            case when ({{ tag['when'] }}) then {{ segments.sql_string(tag['name']) }} end
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#
  One select per tag: the customers of `relation` (a customer_profile-shaped
  relation) for whom the tag applies, as (customer_key, tag, as_of_date),
  glued with union all. An empty tag list yields no rows.
#}
{% macro segment_tags_union(relation) -%}
    {%- set tags = segments.segment_tags() -%}
    {%- if tags | length == 0 %}
    select customer_key, cast(null as {{ dbt.type_string() }}) as tag, as_of_date from {{ relation }} where 1 = 0
    {%- endif %}
    {%- for tag in tags %}
    select customer_key, cast({{ segments.sql_string(tag['name']) }} as {{ dbt.type_string() }}) as tag, as_of_date
    from {{ relation }}
    where ({{ tag['when'] }})
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
