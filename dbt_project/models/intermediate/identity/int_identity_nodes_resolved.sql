-- Every identifier with its component and, when the component is a
-- customer, the customer_key. The lookup used to attach events and orders
-- to customers.

with

components as (
    select * from {{ ref('int_identity_components') }}
),

customers as (
    select * from {{ ref('int_customers_resolved') }}
),

final as (
    select
        components.node_id,
        components.node_type,
        components.node_value,
        components.is_crm_record,
        components.is_excluded,
        components.component_id,
        customers.customer_key
    from components
    left join customers
        on components.component_id = customers.component_id
)

select * from final
