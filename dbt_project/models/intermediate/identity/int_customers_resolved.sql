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
    select
        components.component_key,
        nodes.is_crm_record,
        nodes.node_type
    from {{ ref('int_identity_components') }} as components
    inner join {{ ref('int_identity_nodes') }} as nodes
        on components.node_key = nodes.node_key
),

keys as (
    select distinct component_id, customer_key, key_basis
    from {{ ref('int_customer_keys') }}
),

per_component as (
    select
        component_key,
        sum(case when is_crm_record then 1 else 0 end) as crm_record_count,
        sum(case when node_type = 'order' then 1 else 0 end) as order_count,
        count(*) as node_count
    from components
    group by component_key
),

-- the registry names components by component_id (the node_id of the
-- component's smallest node)
final as (
    select
        keys.customer_key,
        component_nodes.node_id as component_id,
        per_component.component_key,
        keys.key_basis,
        per_component.crm_record_count,
        per_component.crm_record_count = 0 as is_guest,
        per_component.order_count,
        per_component.node_count
    from per_component
    inner join {{ ref('int_identity_nodes') }} as component_nodes
        on per_component.component_key = component_nodes.node_key
    inner join keys
        on component_nodes.node_id = keys.component_id
    where per_component.crm_record_count > 0 or per_component.order_count > 0
)

select * from final
