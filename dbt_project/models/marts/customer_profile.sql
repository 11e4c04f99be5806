-- The customer 360: one row per resolved customer, features as of
-- var('as_of_date'). No direct identifiers (those live in restricted).
-- engagement_score = sessions_30d + 0.5 * email_opens_90d
--                    + 2 * email_clicks_90d + 0.1 * page_views_30d

with

crm_attributes as (
    select * from {{ ref('int_customer_crm_attributes') }}
),

order_features as (
    select * from {{ ref('int_customer_order_features') }}
),

activity_features as (
    select * from {{ ref('int_customer_activity_features') }}
),

joined as (
    select
        crm_attributes.customer_key,
        crm_attributes.crm_record_count,
        crm_attributes.is_guest,
        crm_attributes.country_code,
        crm_attributes.signup_date,
        order_features.first_order_at,
        order_features.last_order_at,
        {{ dbt.datediff('cast(order_features.last_order_at as date)', as_of_date(), 'day') }} as days_since_last_order,
        {{ dbt.datediff('cast(order_features.first_order_at as date)', as_of_date(), 'day') }} as days_since_first_order,
        coalesce(order_features.orders_30d, 0) as orders_30d,
        coalesce(order_features.orders_90d, 0) as orders_90d,
        coalesce(order_features.orders_365d, 0) as orders_365d,
        cast(coalesce(order_features.revenue_30d, 0) as decimal(18, 2)) as revenue_30d,
        cast(coalesce(order_features.revenue_90d, 0) as decimal(18, 2)) as revenue_90d,
        cast(coalesce(order_features.revenue_365d, 0) as decimal(18, 2)) as revenue_365d,
        coalesce(order_features.lifetime_orders, 0) as lifetime_orders,
        cast(coalesce(order_features.lifetime_revenue, 0) as decimal(18, 2)) as lifetime_revenue,
        coalesce(order_features.cancelled_orders_365d, 0) as cancelled_orders_365d,
        coalesce(order_features.refunded_orders_365d, 0) as refunded_orders_365d,
        coalesce(order_features.discounted_orders_365d, 0) as discounted_orders_365d,
        coalesce(order_features.order_channels_365d, 0) as order_channels_365d,
        coalesce(activity_features.sessions_30d, 0) as sessions_30d,
        coalesce(activity_features.page_views_30d, 0) as page_views_30d,
        coalesce(activity_features.email_opens_90d, 0) as email_opens_90d,
        coalesce(activity_features.email_clicks_90d, 0) as email_clicks_90d,
        coalesce(activity_features.carts_abandoned_30d, 0) as carts_abandoned_30d,
        order_features.preferred_channel,
        activity_features.preferred_device,
        crm_attributes.email_opt_in,
        crm_attributes.sms_opt_in
    from crm_attributes
    left join order_features
        on crm_attributes.customer_key = order_features.customer_key
    left join activity_features
        on crm_attributes.customer_key = activity_features.customer_key
),

scored as (
    select
        joined.*,
        cast(
            sessions_30d + 0.5 * email_opens_90d + 2 * email_clicks_90d + 0.1 * page_views_30d
            as decimal(18, 2)
        ) as engagement_score
    from joined
),

final as (
    select
        customer_key,
        crm_record_count,
        is_guest,
        country_code,
        signup_date,
        first_order_at,
        last_order_at,
        days_since_last_order,
        days_since_first_order,
        orders_30d,
        orders_90d,
        orders_365d,
        revenue_30d,
        revenue_90d,
        revenue_365d,
        lifetime_orders,
        lifetime_revenue,
        cancelled_orders_365d,
        refunded_orders_365d,
        discounted_orders_365d,
        order_channels_365d,
        sessions_30d,
        page_views_30d,
        email_opens_90d,
        email_clicks_90d,
        carts_abandoned_30d,
        preferred_channel,
        preferred_device,
        engagement_score,
        cast(percent_rank() over (order by engagement_score) as {{ segments.type_double() }}) as engagement_percentile,
        email_opt_in,
        sms_opt_in,
        {{ as_of_date() }} as as_of_date
    from scored
)

select * from final
