-- The identifiers seen in each web/app session: one row per distinct
-- (session, user_id, anonymous_id, email). int_sessions_resolved resolves
-- each combination to a customer at build time, so this table never holds a
-- customer_key and stays valid when identity re-keys customers.
-- Incremental like int_web_sessions (touched sessions recomputed whole).
{{ config(
    materialized='incremental',
    unique_key='session_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

web_events as (
    select * from {{ ref('stg_events__web_events') }}
    where session_id is not null
    {%- if is_incremental() %}
      and session_id in ({{ touched_session_ids(loaded_watermark('_max_loaded_at')) }})
    {%- endif %}
),

final as (
    select
        session_id,
        user_id,
        anonymous_id,
        email,
        max(_loaded_at) as _max_loaded_at
    from web_events
    group by session_id, user_id, anonymous_id, email
)

select * from final
