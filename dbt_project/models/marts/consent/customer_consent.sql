-- BI-facing current consent: one row per customer and channel.

with

current_consent as (
    select * from {{ ref('int_consent_current') }}
),

final as (
    select
        customer_key,
        channel,
        granted,
        granted_since,
        source,
        is_observed
    from current_consent
)

select * from final
