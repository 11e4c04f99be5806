-- Primary segment per customer: the first configured rule (vars.segment_rules
-- in dbt_project.yml, by priority) whose expression is true for the
-- customer's profile row. Compiled by the segment_case macro.

with

profiles as (
    select * from {{ ref('customer_profile') }}
),

assigned as (
    select
        customer_key,
        {{ segment_case() }},
        as_of_date
    from profiles
),

final as (
    select
        customer_key,
        segment,
        segment_priority,
        segment_rule,
        as_of_date
    from assigned
)

select * from final
