{{ config(
    materialized='incremental',
    unique_key=['customer_key', 'channel'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ segments.delete_where(this, 'observation_rank is null') }}"
) }}
-- One row per consent change per customer and channel: the first observation
-- and every observation whose value differs from the one before it (ordered
-- by observed time; a record version without a valid time counts as oldest;
-- ties: the later load, then the record id, as in stg_crm__customers).
--
-- Incremental. Every row carries, for its customer and channel,
-- observations_fingerprint (a sum of row hashes over all its observations,
-- macros/cross_db/functions.sql: row_hash) and _max_loaded_at (the newest
-- _loaded_at among them). One pass over int_consent_observations computes
-- them again, and also the fingerprint of the observations loaded up to the
-- stored _max_loaded_at (those this history was built from). Per customer
-- and channel:
--   keep     same fingerprint: nothing is written;
--   append   the observations it was built from are unchanged and the new
--            ones all sort after them (the daily case: new events): the new
--            changes are computed from the new observations alone, starting
--            from the last stored value and observation count;
--   rebuild  anything else (late data, a re-delivered record, observations
--            re-keyed by identity, a new customer): recomputed whole;
--   delete   no observations left: a placeholder row deletes its history,
--            and the post-hook removes it.

with

observations as (
    select
        *,
        {{ segments.row_hash(['source', 'source_record', 'observed_at', '_loaded_at', 'granted']) }} as row_hash
    from {{ ref('int_consent_observations') }}
),

{%- if is_incremental() %}

stored as (
    select
        customer_key,
        channel,
        max(observations_fingerprint) as observations_fingerprint,
        max(_max_loaded_at) as seen_loaded_at,
        {{ segments.arg_max('granted', 'observation_rank') }} as last_granted
    from {{ this }}
    group by customer_key, channel
),

stats as (
    select
        observations.customer_key,
        observations.channel,
        sum(observations.row_hash) as observations_fingerprint,
        max(observations._loaded_at) as _max_loaded_at,
        sum(case when observations._loaded_at <= stored.seen_loaded_at then observations.row_hash end) as seen_fingerprint,
        count(case when observations._loaded_at <= stored.seen_loaded_at then 1 end) as seen_count,
        max(case when observations._loaded_at <= stored.seen_loaded_at then observations.observed_at end) as seen_last_observed_at,
        min(case when observations._loaded_at > stored.seen_loaded_at then observations.observed_at end) as new_first_observed_at,
        count(case when observations._loaded_at > stored.seen_loaded_at and observations.observed_at is null then 1 end)
            as new_without_time
    from observations
    left join stored
        on observations.customer_key = stored.customer_key
        and observations.channel = stored.channel
    group by observations.customer_key, observations.channel
),

groups as (
    select
        coalesce(stats.customer_key, stored.customer_key) as customer_key,
        coalesce(stats.channel, stored.channel) as channel,
        stats.observations_fingerprint,
        stats._max_loaded_at,
        stats.seen_count,
        stored.seen_loaded_at,
        stored.last_granted,
        case
            when stats.customer_key is null then 'delete'
            when stored.customer_key is null then 'rebuild'
            when stats.observations_fingerprint = stored.observations_fingerprint then 'keep'
            when stats.seen_fingerprint = stored.observations_fingerprint
                 and stats.new_without_time = 0
                 and (stats.seen_last_observed_at is null
                      or stats.new_first_observed_at >= stats.seen_last_observed_at) then 'append'
            else 'rebuild'
        end as action
    from stats
    full outer join stored
        on stats.customer_key = stored.customer_key
        and stats.channel = stored.channel
),

{%- else %}

groups as (
    select
        customer_key,
        channel,
        sum(row_hash) as observations_fingerprint,
        max(_loaded_at) as _max_loaded_at,
        'rebuild' as action
    from observations
    group by customer_key, channel
),

{%- endif %}

rebuilt as (
    select
        observations.*,
        groups.observations_fingerprint,
        groups._max_loaded_at,
        row_number() over (
            partition by observations.customer_key, observations.channel
            order by observations.observed_at nulls first, observations._loaded_at, observations.source_record
        ) as observation_rank
    from observations
    inner join groups
        on observations.customer_key = groups.customer_key
        and observations.channel = groups.channel
    where groups.action = 'rebuild'
),

rebuilt_changes as (
    select
        rebuilt.*,
        lag(granted) over (partition by customer_key, channel order by observation_rank) as previous_granted
    from rebuilt
),

{%- if is_incremental() %}

-- the new observations of the appended groups, ranked after the ones seen
appended as (
    select
        observations.*,
        groups.observations_fingerprint,
        groups._max_loaded_at,
        groups.last_granted,
        groups.seen_count + row_number() over (
            partition by observations.customer_key, observations.channel
            order by observations.observed_at nulls first, observations._loaded_at, observations.source_record
        ) as observation_rank
    from observations
    inner join groups
        on observations.customer_key = groups.customer_key
        and observations.channel = groups.channel
    where groups.action = 'append'
      and observations._loaded_at > groups.seen_loaded_at
),

appended_changes as (
    select
        appended.*,
        coalesce(
            lag(granted) over (partition by customer_key, channel order by observation_rank),
            last_granted
        ) as previous_granted
    from appended
),

{%- endif %}

final as (
    select
        customer_key,
        channel,
        granted,
        observed_at as changed_at,
        source,
        source_record,
        observation_rank,
        observations_fingerprint,
        _max_loaded_at
    from rebuilt_changes
    where previous_granted is null or previous_granted <> granted
    {%- if is_incremental() %}
    union all
    select
        customer_key,
        channel,
        granted,
        observed_at as changed_at,
        source,
        source_record,
        observation_rank,
        observations_fingerprint,
        _max_loaded_at
    from appended_changes
    where previous_granted <> granted
    union all
    -- the changes already stored for the appended groups, with their new fingerprint
    select
        history.customer_key,
        history.channel,
        history.granted,
        history.changed_at,
        history.source,
        history.source_record,
        history.observation_rank,
        groups.observations_fingerprint,
        groups._max_loaded_at
    from {{ this }} as history
    inner join groups
        on history.customer_key = groups.customer_key
        and history.channel = groups.channel
    where groups.action = 'append'
    union all
    -- customers and channels without observations now: delete their history
    select
        customer_key,
        channel,
        cast(null as boolean) as granted,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as source_record,
        cast(null as {{ dbt.type_bigint() }}) as observation_rank,
        observations_fingerprint,
        _max_loaded_at
    from groups
    where action = 'delete'
    {%- endif %}
)

select * from final
