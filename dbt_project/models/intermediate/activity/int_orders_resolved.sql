-- One row per order with its customer: int_orders (incremental, no
-- customer) joined to the identity lookup at build time, so a customer
-- re-keyed by new identity links is always current.

with

orders as (
    select * from {{ ref('int_orders') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
),

final as (
    select
        orders.order_id,
        nodes.customer_key,
        orders.order_ts,
        orders.order_date,
        orders.status,
        orders.is_completed,
        orders.is_discounted,
        orders.channel,
        orders.currency,
        orders.line_count,
        orders.revenue_eur,
        orders.is_guest_checkout
    from orders
    left join nodes
        on nodes.node_id = 'order:' || orders.order_id
)

select * from final
