-- One row per web/app session, before identity: when it started, its device,
-- page views and whether a cart was abandoned (add_to_cart and no purchase in
-- the same session). No customer here, so new identity links never
-- invalidate it; int_sessions_resolved adds the customer.
-- Privacy (issue 6, docs/privacy.md): only events that carry tracking
-- consent count; a customer's later withdrawal is applied in
-- int_sessions_resolved.
-- Incremental: the sessions touched by events loaded since the last build
-- (late events included, and the session a re-delivered event left, from
-- the staged previous_session_id: touched_session_ids) are recomputed from
-- all their staged events.
-- A touched session left with no consented events (its events moved away)
-- gets a placeholder row (null _max_loaded_at) that deletes its old row; the
-- post-hook removes the placeholder.
{{ config(
    materialized='incremental',
    unique_key='session_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ segments.delete_where(this, '_max_loaded_at is null') }}"
) }}

with
{%- if is_incremental() %}

touched as (
    {{ touched_session_ids(loaded_watermark('_max_loaded_at')) }}
),
{%- endif %}

web_events as (
    select * from {{ ref('stg_events__web_events') }}
    where session_id is not null
      and coalesce(tracking_consent, false)
    {%- if is_incremental() %}
      and session_id in (select session_id from touched)
    {%- endif %}
),

sessions as (
    select
        session_id,
        min(event_ts) as session_start_ts,
        cast(min(event_ts) as date) as session_date,
        max(device_type) as device_type,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_views,
        max(case when event_type = 'add_to_cart' then 1 else 0 end) = 1 as has_add_to_cart,
        max(case when event_type = 'purchase' then 1 else 0 end) = 1 as has_purchase,
        max(case when event_type = 'add_to_cart' then 1 else 0 end) = 1
            and max(case when event_type = 'purchase' then 1 else 0 end) = 0 as is_cart_abandoned,
        max(_loaded_at) as _max_loaded_at
    from web_events
    group by session_id
),

final as (
    select * from sessions
    {%- if is_incremental() %}
    union all
    select
        session_id,
        null as session_start_ts,
        null as session_date,
        null as device_type,
        null as page_views,
        null as has_add_to_cart,
        null as has_purchase,
        null as is_cart_abandoned,
        null as _max_loaded_at
    from touched
    where session_id not in (select session_id from sessions)
    {%- endif %}
)

select * from final
