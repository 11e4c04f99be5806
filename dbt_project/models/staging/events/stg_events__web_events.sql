-- One row per event_id (a re-delivered event: the latest load wins), cast
-- and normalised. Timestamps are UTC.
-- Incremental: a run parses only the raw rows loaded since the newest
-- _loaded_at already staged (macros/incremental/incremental.sql); a
-- re-delivered event replaces its earlier version (delete+insert on
-- event_id). Loads are stamped in load order, so the newer load always wins,
-- as in a full refresh.
-- The previous delivery: previous_session_id (the session of the version
-- this one supersedes, when that was another, non-null session),
-- previous_event_date (likewise its day, for int_email_engagement_daily) and
-- _previous_loaded_at (that version's _loaded_at; null for an event
-- delivered once). The incremental session models read them instead of the
-- raw table to find the session a re-delivered event left
-- (touched_session_ids). They are defined by the raw data alone, so a full
-- refresh and an incremental run agree: a full refresh takes them from the
-- next older raw row of the same window; an incremental run from the next
-- older row of the new batch, else from the staged row it replaces (looked
-- up in the model's own table, for the batch's event ids only). They are
-- deliberately not a per-build audit value ("the session this build
-- replaced"), which a full refresh could not reproduce and
-- tests/dbt/test_incremental.py would have to leave out of its comparison.
-- Both columns were added after the first release: with
-- on_schema_change='fail' an existing warehouse stops with a schema change
-- error on this model until it is rebuilt once:
--   dbt build --full-refresh --select stg_events__web_events
-- (or `make full-refresh`); the models downstream need no rebuild.
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

{#- The rows read: all of raw on a full refresh, the new loads on an
    incremental run. Written out as a subquery wherever it is read, not as a
    CTE: DuckDB materialises a CTE that is read more than once, and that would
    copy all 46M raw rows at `large`. #}
{%- set batch -%}
    (
        select * from {{ source('events', 'web_events') }}
        {%- if is_incremental() %}
        where _loaded_at > {{ loaded_watermark() }}
        {%- endif %}
    )
{%- endset %}

with

-- Event ids delivered more than once among the rows read. Almost every event
-- comes once (5 of 46M at `large`), so only these go through the window
-- below: a sort of every row over every column cost more than half of the
-- full build (278 -> 167 s at `large`, bench/RESULTS.md, session 8).
repeated as (
    select {{ blank_to_null('event_id') }} as event_id
    from {{ batch }} as batch
    where {{ blank_to_null('event_id') }} is not null
    group by {{ blank_to_null('event_id') }}
    having count(*) > 1
),

-- Every version of those events, ranked newest first, each with the next
-- older delivery (one sort).
repeated_versions as (
    select
        event_id,
        _loaded_at,
        _file_name,
        _row_number,
        row_number() over (
            partition by event_id
            order by _loaded_at desc, _file_name desc, _row_number desc
        ) as load_rank,
        lead(session_id) over (
            partition by event_id
            order by _loaded_at desc, _file_name desc, _row_number desc
        ) as older_session_id,
        lead(_loaded_at) over (
            partition by event_id
            order by _loaded_at desc, _file_name desc, _row_number desc
        ) as older_loaded_at,
        lead(event_date) over (
            partition by event_id
            order by _loaded_at desc, _file_name desc, _row_number desc
        ) as older_event_date
    from (
        select
            {{ blank_to_null('event_id') }} as event_id,
            {{ blank_to_null('session_id') }} as session_id,
            cast({{ parse_timestamp_utc('event_ts') }} as date) as event_date,
            _loaded_at,
            _file_name,
            _row_number
        from {{ batch }} as batch
        where {{ blank_to_null('event_id') }} in (select event_id from repeated)
    ) as versions
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
    from {{ batch }} as source
),

-- An event delivered once is its own latest version, with no older one.
ranked as (
    select
        typed.*,
        coalesce(repeated_versions.load_rank, 1) as load_rank,
        repeated_versions.older_session_id,
        repeated_versions.older_loaded_at,
        repeated_versions.older_event_date
    from typed
    left join repeated_versions
        on typed.event_id = repeated_versions.event_id
        and typed._loaded_at = repeated_versions._loaded_at
        and typed._file_name = repeated_versions._file_name
        and typed._row_number = repeated_versions._row_number
    where typed.event_id is not null
),
{%- if is_incremental() %}

-- The staged version an event of the new batch replaces: a key lookup for
-- the batch's event ids, not a scan of the raw history.
staged as (
    select event_id, session_id, event_date, _loaded_at
    from {{ this }}
    where event_id in (select event_id from ranked where load_rank = 1)
),
{%- endif %}

latest as (
    select
        ranked.*,
        {%- if is_incremental() %}
        -- delivered again within the batch: the older batch row; else the staged row
        case
            when ranked.older_loaded_at is not null then ranked.older_session_id
            else staged.session_id
        end as prior_session_id,
        case
            when ranked.older_loaded_at is not null then ranked.older_event_date
            else staged.event_date
        end as prior_event_date,
        coalesce(ranked.older_loaded_at, staged._loaded_at) as prior_loaded_at
        {%- else %}
        ranked.older_session_id as prior_session_id,
        ranked.older_event_date as prior_event_date,
        ranked.older_loaded_at as prior_loaded_at
        {%- endif %}
    from ranked
    {%- if is_incremental() %}
    left join staged
        on ranked.event_id = staged.event_id
    {%- endif %}
    where ranked.load_rank = 1
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
        case
            when prior_session_id is distinct from session_id then prior_session_id
        end as previous_session_id,
        case
            when prior_event_date is distinct from cast(event_ts as date) then prior_event_date
        end as previous_event_date,
        _file_name,
        _batch_id,
        _row_number,
        _loaded_at,
        prior_loaded_at as _previous_loaded_at
    from latest
)

select * from final
