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
-- Incremental: every row carries observations_fingerprint, a sum of row
-- hashes over all observations of its customer and channel
-- (macros/cross_db/functions.sql: row_hash). A run computes the fingerprints
-- from int_consent_observations (one pass over integer and hash columns),
-- and recomputes the history only of the customers and channels whose
-- fingerprint differs from the stored one: new or changed observations, or
-- observations moved to another customer. A customer and channel with no
-- observations left gets a placeholder row that deletes its history, and the
-- post-hook removes it.

with

observations as (
    select * from {{ ref('int_consent_observations') }}
),

fingerprints as (
    select
        customer_key,
        channel,
        sum({{ segments.row_hash(['source', 'source_record', 'observed_at', '_loaded_at', 'granted']) }})
            as observations_fingerprint
    from observations
    group by customer_key, channel
),

{%- if is_incremental() %}

stored as (
    select distinct customer_key, channel, observations_fingerprint
    from {{ this }}
),

stale as (
    select
        coalesce(fingerprints.customer_key, stored.customer_key) as customer_key,
        coalesce(fingerprints.channel, stored.channel) as channel,
        fingerprints.observations_fingerprint
    from fingerprints
    full outer join stored
        on fingerprints.customer_key = stored.customer_key
        and fingerprints.channel = stored.channel
    where fingerprints.observations_fingerprint is null
       or stored.observations_fingerprint is null
       or fingerprints.observations_fingerprint <> stored.observations_fingerprint
),

{%- else %}

stale as (
    select * from fingerprints
),

{%- endif %}

ordered as (
    select
        observations.*,
        stale.observations_fingerprint,
        row_number() over (
            partition by observations.customer_key, observations.channel
            order by observations.observed_at nulls first, observations._loaded_at, observations.source_record
        ) as observation_rank
    from observations
    inner join stale
        on observations.customer_key = stale.customer_key
        and observations.channel = stale.channel
),

with_previous as (
    select
        ordered.*,
        lag(granted) over (partition by customer_key, channel order by observation_rank) as previous_granted
    from ordered
),

changes as (
    select
        customer_key,
        channel,
        granted,
        observed_at as changed_at,
        source,
        source_record,
        observation_rank,
        observations_fingerprint
    from with_previous
    where previous_granted is null or previous_granted <> granted
),

final as (
    select * from changes
    {%- if is_incremental() %}
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
        observations_fingerprint
    from stale
    where observations_fingerprint is null
    {%- endif %}
)

select * from final
