-- Web/app and email engagement per customer as of var('as_of_date'):
-- sessions, page views and abandoned carts in the last 30 days (by session
-- start date), email opens and clicks in the last 90 days, and the device
-- used in most sessions (ties: alphabetical).

with

sessions as (
    select * from {{ ref('int_sessions_resolved') }}
    where customer_key is not null
      and {{ up_to_as_of('session_date') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

-- email opens/clicks per identifier and day, resolved like an event: through
-- its user_id, else its anonymous_id, else its email
email_days as (
    select * from {{ ref('int_email_engagement_daily') }}
    where {{ in_window('event_date', 90) }}
),

email_events as (
    select
        {{ resolved_customer_key() }} as customer_key,
        email_days.email_opens,
        email_days.email_clicks
    from email_days
    {{ join_identity_nodes('email_days') }}
),

session_features as (
    select
        customer_key,
        sum(case when {{ in_window('session_date', 30) }} then 1 else 0 end) as sessions_30d,
        sum(case when {{ in_window('session_date', 30) }} then page_views else 0 end) as page_views_30d,
        sum(case when {{ in_window('session_date', 30) }} and is_cart_abandoned then 1 else 0 end) as carts_abandoned_30d
    from sessions
    group by customer_key
),

device_counts as (
    select customer_key, device_type, count(*) as sessions
    from sessions
    where device_type is not null
    group by customer_key, device_type
),

preferred_device as (
    select customer_key, device_type as preferred_device
    from (
        select
            customer_key,
            device_type,
            row_number() over (partition by customer_key order by sessions desc, device_type) as device_rank
        from device_counts
    ) as ranked
    where device_rank = 1
),

email_features as (
    select
        customer_key,
        sum(email_opens) as email_opens_90d,
        sum(email_clicks) as email_clicks_90d
    from email_events
    where customer_key is not null
    group by customer_key
),

customers as (
    select customer_key from session_features
    union
    select customer_key from email_features
    union
    select customer_key from preferred_device
),

final as (
    select
        customers.customer_key,
        coalesce(session_features.sessions_30d, 0) as sessions_30d,
        coalesce(session_features.page_views_30d, 0) as page_views_30d,
        coalesce(session_features.carts_abandoned_30d, 0) as carts_abandoned_30d,
        coalesce(email_features.email_opens_90d, 0) as email_opens_90d,
        coalesce(email_features.email_clicks_90d, 0) as email_clicks_90d,
        preferred_device.preferred_device
    from customers
    left join session_features on customers.customer_key = session_features.customer_key
    left join email_features on customers.customer_key = email_features.customer_key
    left join preferred_device on customers.customer_key = preferred_device.customer_key
)

select * from final
