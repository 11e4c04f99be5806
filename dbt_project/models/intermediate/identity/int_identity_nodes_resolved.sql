-- Every identifier with its component and, when the component is a
-- customer, the customer_key. The lookup used to attach events and orders
-- to customers; the one table of the identity models that writes the
-- identifiers next to their component (int_identity_components holds the
-- integer keys only).

with

nodes as (
    select * from {{ ref('int_identity_nodes') }}
),

components as (
    select * from {{ ref('int_identity_components') }}
),

customers as (
    select component_key, customer_key from {{ ref('int_customers_resolved') }}
),

final as (
    select
        nodes.node_id,
        nodes.node_type,
        nodes.node_value,
        nodes.is_crm_record,
        nodes.is_excluded,
        component_nodes.node_id as component_id,
        customers.customer_key
    from nodes
    inner join components
        on nodes.node_key = components.node_key
    inner join nodes as component_nodes
        on components.component_key = component_nodes.node_key
    left join customers
        on components.component_key = customers.component_key
)

select * from final
