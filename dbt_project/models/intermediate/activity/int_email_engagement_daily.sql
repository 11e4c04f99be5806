-- Email opens and clicks per identifier combination (user_id, anonymous_id,
-- email) and UTC day, before identity; int_customer_activity_features
-- resolves them to customers. Events without a parseable date never fall in
-- a feature window and are left out.
-- Incremental: every day touched by events loaded since the last build (a
-- late event touches its own, older day; an event delivered again also its
-- earlier day, from the staged previous_event_date: touched_event_dates) is
-- recomputed whole from the staged events.
-- A touched day left with no email events (its events moved away) gets a
-- placeholder row (null _max_loaded_at) that deletes its old row; the
-- post-hook removes the placeholder.
{{ config(
    materialized='incremental',
    unique_key='event_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ segments.delete_where(this, '_max_loaded_at is null') }}"
) }}

with
{%- if is_incremental() %}

touched as (
    {{ touched_event_dates(loaded_watermark('_max_loaded_at')) }}
),
{%- endif %}

web_events as (
    select * from {{ ref('stg_events__web_events') }}
    where event_type in ('email_open', 'email_click')
      and event_date is not null
    {%- if is_incremental() %}
      and event_date in (select event_date from touched)
    {%- endif %}
),

email_days as (
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
),

final as (
    select * from email_days
    {%- if is_incremental() %}
    union all
    select
        event_date,
        null as user_id,
        null as anonymous_id,
        null as email,
        null as email_opens,
        null as email_clicks,
        null as _max_loaded_at
    from touched
    where event_date not in (select event_date from email_days)
    {%- endif %}
)

select * from final
