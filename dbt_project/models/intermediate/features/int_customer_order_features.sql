-- Purchase features per customer as of var('as_of_date'). Only completed
-- orders are purchases; windows are as_of_date - N < order date <= as_of_date.

with

orders as (
    select * from {{ ref('int_orders_resolved') }}
    where customer_key is not null
      and {{ up_to_as_of('order_date') }}
),

channel_counts as (
    select
        customer_key,
        channel,
        count(*) as orders
    from orders
    where is_completed and channel is not null
    group by customer_key, channel
),

preferred_channel as (
    select customer_key, channel as preferred_channel
    from (
        select
            customer_key,
            channel,
            row_number() over (partition by customer_key order by orders desc, channel) as channel_rank
        from channel_counts
    ) as ranked
    where channel_rank = 1
),

aggregated as (
    select
        customer_key,
        min(case when is_completed then order_ts end) as first_order_at,
        max(case when is_completed then order_ts end) as last_order_at,
        {%- for days in [30, 90, 365] %}
        sum(case when is_completed and {{ in_window('order_date', days) }} then 1 else 0 end) as orders_{{ days }}d,
        sum(case when is_completed and {{ in_window('order_date', days) }} then revenue_eur else 0 end) as revenue_{{ days }}d,
        {%- endfor %}
        sum(case when is_completed then 1 else 0 end) as lifetime_orders,
        sum(case when is_completed then revenue_eur else 0 end) as lifetime_revenue,
        sum(case when status = 'cancelled' and {{ in_window('order_date', 365) }} then 1 else 0 end) as cancelled_orders_365d,
        sum(case when status = 'refunded' and {{ in_window('order_date', 365) }} then 1 else 0 end) as refunded_orders_365d,
        sum(case when is_completed and is_discounted and {{ in_window('order_date', 365) }} then 1 else 0 end) as discounted_orders_365d,
        count(distinct case when is_completed and {{ in_window('order_date', 365) }} then channel end) as order_channels_365d
    from orders
    group by customer_key
),

final as (
    select
        aggregated.*,
        preferred_channel.preferred_channel
    from aggregated
    left join preferred_channel
        on aggregated.customer_key = preferred_channel.customer_key
)

select * from final
