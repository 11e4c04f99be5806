-- One row per resolved customer: a component of the identity graph that
-- holds at least one CRM record or one order (anonymous visitors and email
-- recipients alone are not customers). customer_key comes from the key
-- registry int_customer_keys: stable across runs (a customer keeps its key
-- when new data arrives; merges keep the oldest key, see
-- int_customer_key_changes). A customer's first key is 'c_' || md5 of its
-- smallest CRM id, else its smallest email (guest checkouts), else
-- 'order:' || its smallest order id.

with

components as (
    select * from {{ ref('int_identity_components') }}
),

keys as (
    select distinct component_id, customer_key, key_basis
    from {{ ref('int_customer_keys') }}
),

per_component as (
    select
        component_id,
        sum(case when is_crm_record then 1 else 0 end) as crm_record_count,
        sum(case when node_type = 'order' then 1 else 0 end) as order_count,
        count(*) as node_count
    from components
    group by component_id
),

final as (
    select
        keys.customer_key,
        per_component.component_id,
        keys.key_basis,
        per_component.crm_record_count,
        per_component.crm_record_count = 0 as is_guest,
        per_component.order_count,
        per_component.node_count
    from per_component
    inner join keys
        on per_component.component_id = keys.component_id
    where per_component.crm_record_count > 0 or per_component.order_count > 0
)

select * from final
