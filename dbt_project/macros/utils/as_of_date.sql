{#
  The date features and segments are computed for: var('as_of_date') (the
  DAG passes its logical date as 'YYYY-MM-DD'), or today when it is null.
#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or value | string | trim in ('', 'None', 'null') -%}
        current_date
    {%- else -%}
        {%- set text = value | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD or null, got '" ~ text ~ "' [rule: as_of_date_format]") }}
        {%- endif -%}
        cast('{{ text }}' as date)
    {%- endif -%}
{%- endmacro %}
