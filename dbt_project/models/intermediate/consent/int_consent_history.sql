-- One row per consent change per customer and channel: the first observation
-- and every observation whose value differs from the one before it (ordered
-- by observed time; a record version without a valid time counts as oldest;
-- ties: the later load, then the record id, as in stg_crm__customers).

with

observations as (
    select * from {{ ref('int_consent_observations') }}
),

-- Both window functions share one ordering, so the 40M observations at
-- `large` are sorted once (a lag over observation_rank sorted them again:
-- 45 -> 36 s, bench/RESULTS.md, session 8).
with_previous as (
    select
        observations.*,
        row_number() over (
            partition by customer_key, channel
            order by observed_at nulls first, _loaded_at, source_record
        ) as observation_rank,
        lag(granted) over (
            partition by customer_key, channel
            order by observed_at nulls first, _loaded_at, source_record
        ) as previous_granted
    from observations
),

final as (
    select
        customer_key,
        channel,
        granted,
        observed_at as changed_at,
        source,
        source_record,
        observation_rank
    from with_previous
    where previous_granted is null or previous_granted <> granted
)

select * from final
