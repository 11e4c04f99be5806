{#
  Schemas are exactly the folder names (staging, intermediate, restricted,
  marts), not dbt's default "<target schema>_<custom schema>", so downstream
  tools (quality gates, publisher, BI) find tables at fixed names.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
