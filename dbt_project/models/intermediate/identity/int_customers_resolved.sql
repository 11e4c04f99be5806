-- One row per resolved customer: a component of the identity graph that
-- holds at least one CRM record or one order (anonymous visitors and email
-- recipients alone are not customers). customer_key is a stable,
-- deterministic hash: 'c_' || md5 of the smallest CRM id in the component,
-- else of its smallest email (guest checkouts), else of 'order:' || its
-- smallest order id (a guest whose email is excluded or missing).

with

components as (
    select * from {{ ref('int_identity_components') }}
),

per_component as (
    select
        component_id,
        min(case when node_type = 'crm' then node_value end) as min_crm_id,
        min(case when node_type = 'email' then node_value end) as min_email,
        min(case when node_type = 'order' then node_value end) as min_order_id,
        sum(case when is_crm_record then 1 else 0 end) as crm_record_count,
        sum(case when node_type = 'order' then 1 else 0 end) as order_count,
        count(*) as node_count
    from components
    group by component_id
),

customers as (
    select *
    from per_component
    where crm_record_count > 0 or order_count > 0
),

final as (
    select
        'c_' || {{ dbt.hash("coalesce(min_crm_id, min_email, 'order:' || min_order_id)") }} as customer_key,
        component_id,
        case
            when min_crm_id is not null then 'crm_id'
            when min_email is not null then 'email'
            else 'order_id'
        end as key_basis,
        crm_record_count,
        crm_record_count = 0 as is_guest,
        order_count,
        node_count
    from customers
)

select * from final
