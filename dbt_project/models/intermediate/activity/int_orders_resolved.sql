-- One row per order with its customer. An order's status is its lines'
-- status when they agree; a mixed order with at least one completed line is
-- 'completed' (partially cancelled/refunded). Revenue counts completed lines
-- only: sum(quantity * unit_price - discount) in EUR.

with

order_lines as (
    select * from {{ ref('stg_orders__order_lines') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
),

orders as (
    select
        order_id,
        min(order_ts) as order_ts,
        max(crm_id) as crm_id,
        max(email) as email,
        max(channel) as channel,
        max(currency) as currency,
        count(*) as line_count,
        count(distinct status) as status_count,
        max(status) as any_status,
        sum(case when status = 'completed' then 1 else 0 end) as completed_lines,
        sum(case when status = 'completed' then net_amount_eur else 0 end) as completed_revenue_eur,
        sum(case when status = 'completed' and discount_amount > 0 then 1 else 0 end) as discounted_lines
    from order_lines
    group by order_id
),

final as (
    select
        orders.order_id,
        nodes.customer_key,
        orders.order_ts,
        cast(orders.order_ts as date) as order_date,
        case
            when orders.status_count = 1 then orders.any_status
            when orders.completed_lines > 0 then 'completed'
            else orders.any_status
        end as status,
        orders.completed_lines > 0 as is_completed,
        orders.discounted_lines > 0 as is_discounted,
        orders.channel,
        orders.currency,
        orders.line_count,
        cast(orders.completed_revenue_eur as decimal(18, 2)) as revenue_eur,
        orders.crm_id is null as is_guest_checkout
    from orders
    left join nodes
        on nodes.node_id = 'order:' || orders.order_id
)

select * from final
