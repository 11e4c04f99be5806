-- Email opens and clicks per identifier combination (user_id, anonymous_id,
-- email) and UTC day, before identity; int_customer_activity_features
-- resolves them to customers. Events without a parseable date never fall in
-- a feature window and are left out.
-- Incremental: every day touched by events loaded since the last build (a
-- late event touches its own, older day; an event delivered again also its
-- earlier day) is recomputed whole from the staged events.
{{ config(
    materialized='incremental',
    unique_key='event_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

web_events as (
    select * from {{ ref('stg_events__web_events') }}
    where event_type in ('email_open', 'email_click')
      and event_date is not null
    {%- if is_incremental() %}
      and event_date in (
        select event_date
        from {{ ref('stg_events__web_events') }}
        where _loaded_at > {{ loaded_watermark('_max_loaded_at') }}
        union
        select cast({{ parse_timestamp_utc('earlier.event_ts') }} as date)
        from {{ source('events', 'web_events') }} as earlier
        inner join {{ ref('stg_events__web_events') }} as redelivered
            on {{ blank_to_null('earlier.event_id') }} = redelivered.event_id
        where redelivered._loaded_at > {{ loaded_watermark('_max_loaded_at') }}
          and earlier._loaded_at < redelivered._loaded_at
      )
    {%- endif %}
),

final as (
    select
        event_date,
        user_id,
        anonymous_id,
        email,
        sum(case when event_type = 'email_open' then 1 else 0 end) as email_opens,
        sum(case when event_type = 'email_click' then 1 else 0 end) as email_clicks,
        max(_loaded_at) as _max_loaded_at
    from web_events
    group by event_date, user_id, anonymous_id, email
)

select * from final
