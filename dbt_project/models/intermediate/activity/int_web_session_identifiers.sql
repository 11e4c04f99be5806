-- The identifiers seen in each web/app session: one row per distinct
-- (session, user_id, anonymous_id, email). int_sessions_resolved resolves
-- each combination to a customer at build time, so this table never holds a
-- customer_key and stays valid when identity re-keys customers.
-- Incremental like int_web_sessions (touched sessions recomputed whole).
-- A touched session left with no events (its events moved away) gets a
-- placeholder row (null _max_loaded_at) that deletes its old row; the
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
    {%- if is_incremental() %}
      and session_id in (select session_id from touched)
    {%- endif %}
),

identifiers as (
    select
        session_id,
        user_id,
        anonymous_id,
        email,
        max(_loaded_at) as _max_loaded_at
    from web_events
    group by session_id, user_id, anonymous_id, email
),

final as (
    select * from identifiers
    {%- if is_incremental() %}
    union all
    select
        session_id,
        null as user_id,
        null as anonymous_id,
        null as email,
        null as _max_loaded_at
    from touched
    where session_id not in (select session_id from identifiers)
    {%- endif %}
)

select * from final
