-- Current consent of every customer for every channel (email, sms,
-- tracking): the value of the latest change, not granted when never seen.
-- Read by the activity layer (tracking) and by audience exports.

with

customers as (
    select * from {{ ref('int_customers_resolved') }}
),

history as (
    select * from {{ ref('int_consent_history') }}
),

channels as (
    {%- for channel in ['email', 'sms', 'tracking'] %}
    select '{{ channel }}' as channel{{ ' union all' if not loop.last }}
    {%- endfor %}
),

latest as (
    select customer_key, channel, granted, changed_at, source
    from (
        select
            history.*,
            row_number() over (partition by customer_key, channel order by observation_rank desc) as recency_rank
        from history
    ) as ranked
    where recency_rank = 1
),

final as (
    select
        customers.customer_key,
        channels.channel,
        coalesce(latest.granted, false) as granted,
        latest.changed_at as granted_since,
        latest.source,
        latest.customer_key is not null as is_observed
    from customers
    cross join channels
    left join latest
        on customers.customer_key = latest.customer_key
        and channels.channel = latest.channel
)

select * from final
