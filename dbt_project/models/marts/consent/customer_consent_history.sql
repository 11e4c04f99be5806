-- BI-facing consent history: one row per change (no record ids: those
-- identify a person outside the warehouse).

with

history as (
    select * from {{ ref('int_consent_history') }}
),

final as (
    select
        customer_key,
        channel,
        granted,
        changed_at,
        source
    from history
)

select * from final
