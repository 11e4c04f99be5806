-- One row per configured segment (also the empty ones): how many customers
-- it holds, their share of all customers and their average 365-day revenue
-- and orders.

with

segments as (
    select * from {{ ref('customer_segments') }}
),

profiles as (
    select * from {{ ref('customer_profile') }}
),

configured_segments as (
    {{ segment_rules_rows() }}
),

members as (
    select
        segments.segment,
        count(*) as customers,
        avg(profiles.revenue_365d) as avg_revenue_365d,
        avg(profiles.orders_365d) as avg_orders_365d
    from segments
    inner join profiles
        on segments.customer_key = profiles.customer_key
    group by segments.segment
),

total as (
    select count(*) as customers from segments
),

final as (
    select
        configured_segments.segment,
        configured_segments.segment_priority,
        coalesce(members.customers, 0) as customers,
        cast(case
            when total.customers = 0 then 0
            else 1.0 * coalesce(members.customers, 0) / total.customers
        end as {{ segments.type_double() }}) as share,
        cast(coalesce(members.avg_revenue_365d, 0) as decimal(18, 2)) as avg_revenue_365d,
        cast(coalesce(members.avg_orders_365d, 0) as {{ segments.type_double() }}) as avg_orders_365d,
        {{ as_of_date() }} as as_of_date
    from configured_segments
    cross join total
    left join members
        on configured_segments.segment = members.segment
)

select * from final
