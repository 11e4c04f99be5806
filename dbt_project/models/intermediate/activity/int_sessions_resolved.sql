-- One row per web/app session (email events have no session): when it
-- started, its customer, device and whether a cart was abandoned in it
-- (add_to_cart and no purchase in the same session).

with

events as (
    select * from {{ ref('int_events_resolved') }}
    where session_id is not null
),

final as (
    select
        session_id,
        max(customer_key) as customer_key,
        min(event_ts) as session_start_ts,
        cast(min(event_ts) as date) as session_date,
        max(device_type) as device_type,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_views,
        max(case when event_type = 'add_to_cart' then 1 else 0 end) = 1 as has_add_to_cart,
        max(case when event_type = 'purchase' then 1 else 0 end) = 1 as has_purchase,
        max(case when event_type = 'add_to_cart' then 1 else 0 end) = 1
            and max(case when event_type = 'purchase' then 1 else 0 end) = 0 as is_cart_abandoned
    from events
    group by session_id
)

select * from final
