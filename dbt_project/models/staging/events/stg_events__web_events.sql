-- One row per event_id (a re-delivered event: the latest load wins), cast
-- and normalised. Timestamps are UTC.
-- Incremental: a run parses only the raw rows loaded since the newest
-- _loaded_at already staged (macros/incremental/incremental.sql); a
-- re-delivered event replaces its earlier version (delete+insert on
-- event_id). Loads are stamped in load order, so the newer load always wins,
-- as in a full refresh.
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

source as (
    select * from {{ source('events', 'web_events') }}
    {%- if is_incremental() %}
    where _loaded_at > {{ loaded_watermark() }}
    {%- endif %}
),

typed as (
    select
        {{ blank_to_null('event_id') }} as event_id,
        {{ blank_to_null('event_ts') }} as event_ts_raw,
        {{ parse_timestamp_utc('event_ts') }} as event_ts,
        lower({{ blank_to_null('event_type') }}) as event_type,
        {{ blank_to_null('anonymous_id') }} as anonymous_id,
        {{ blank_to_null('user_id') }} as user_id,
        {{ normalize_email('email') }} as email,
        {{ blank_to_null('session_id') }} as session_id,
        {{ blank_to_null('page_url') }} as page_url,
        {{ blank_to_null('product_id') }} as product_id,
        {{ blank_to_null('order_id') }} as order_id,
        lower({{ blank_to_null('device_type') }}) as device_type,
        {{ blank_to_null('os') }} as os,
        {{ blank_to_null('referrer') }} as referrer,
        {{ blank_to_null('utm_source') }} as utm_source,
        {{ blank_to_null('utm_medium') }} as utm_medium,
        {{ blank_to_null('utm_campaign') }} as utm_campaign,
        {{ parse_bool('tracking_consent') }} as tracking_consent,
        _file_name,
        _batch_id,
        _row_number,
        _loaded_at
    from source
),

ranked as (
    select
        typed.*,
        row_number() over (
            partition by event_id
            order by _loaded_at desc, _file_name desc, _row_number desc
        ) as load_rank
    from typed
    where event_id is not null
),

final as (
    select
        event_id,
        event_ts,
        event_ts_raw,
        event_ts is null as event_ts_is_invalid,
        cast(event_ts as date) as event_date,
        event_type,
        event_type in (
            {%- for t in ['page_view', 'product_view', 'search', 'add_to_cart', 'remove_from_cart',
                          'checkout_started', 'purchase', 'email_open', 'email_click', 'login'] %}
            '{{ t }}'{{ ',' if not loop.last }}
            {%- endfor %}
        ) as event_type_is_known,
        anonymous_id,
        user_id,
        email,
        session_id,
        page_url,
        product_id,
        order_id,
        device_type,
        os,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        tracking_consent,
        _file_name,
        _batch_id,
        _row_number,
        _loaded_at
    from ranked
    where load_rank = 1
)

select * from final
