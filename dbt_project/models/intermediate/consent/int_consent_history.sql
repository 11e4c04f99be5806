{{ config(
    materialized='incremental',
    unique_key=['customer_key', 'channel'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{{ segments.delete_where(this, 'observation_rank is null') }}"
) }}
-- One row per consent change per customer and channel: the first observation
-- and every observation whose value differs from the one before it (ordered
-- by observed time; a record version without a valid time counts as oldest;
-- ties: the later load, then the record id, as in stg_crm__customers).
--
-- Incremental by fingerprint (macros/incremental/fingerprints.sql): every
-- row carries its (customer_key, channel) partition's fingerprint, the number
-- of observations and the sum of their row hashes, and a run re-ranks only
-- the partitions whose fingerprint changed: new, late and re-delivered
-- observations, and observations that moved to or from another customer. A
-- full rebuild sorted all 40M observations at `large` on every run (~30 s);
-- a day touches about a tenth of the partitions (a third of the
-- observations). A partition with no observations left (a customer merged
-- away) gets a tombstone row (observation_rank null): delete+insert removes
-- its rows, the post-hook the tombstone.

{%- set observation_hash = segments.row_hash(['granted', 'observed_at', 'source', 'source_record', '_loaded_at']) %}

-- The observations are read twice (fingerprints, ranking), each time from
-- the table: through one CTE DuckDB materialised all 40M rows first (30 ->
-- 55 s at `large`).
with

partitions as (
    select
        customer_key,
        channel,
        count(*) as partition_observations,
        sum({{ observation_hash }}) as partition_fingerprint
    from {{ ref('int_consent_observations') }}
    group by customer_key, channel
),

{%- if is_incremental() %}

-- (every partition has one row with observation_rank 1: its first observation)
changed_partitions as (
    {{ segments.changed_partitions('partitions', ['customer_key', 'channel'],
                                   'partition_observations', 'partition_fingerprint',
                                   stored_filter='observation_rank = 1') }}
),

observations_to_rank as (
    select observations.*
    from {{ ref('int_consent_observations') }} as observations
    inner join changed_partitions
        on observations.customer_key = changed_partitions.customer_key
        and observations.channel = changed_partitions.channel
),

{%- else %}

observations_to_rank as (
    select * from {{ ref('int_consent_observations') }}
),

{%- endif %}

-- Both window functions share one ordering, so the observations are sorted
-- once (a lag over observation_rank sorted them again: 45 -> 36 s at `large`,
-- bench/RESULTS.md, session 8).
with_previous as (
    select
        observations_to_rank.*,
        row_number() over (
            partition by customer_key, channel
            order by observed_at nulls first, _loaded_at, source_record
        ) as observation_rank,
        lag(granted) over (
            partition by customer_key, channel
            order by observed_at nulls first, _loaded_at, source_record
        ) as previous_granted
    from observations_to_rank
),

changes as (
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
),

final as (
    select
        changes.*,
        partitions.partition_observations,
        partitions.partition_fingerprint
    from changes
    inner join partitions
        on changes.customer_key = partitions.customer_key
        and changes.channel = partitions.channel
    {%- if is_incremental() %}
    union all
    select
        customer_key,
        channel,
        cast(null as {{ dbt.type_boolean() }}) as granted,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as source_record,
        cast(null as {{ dbt.type_bigint() }}) as observation_rank,
        cast(null as {{ dbt.type_bigint() }}) as partition_observations,
        cast(null as decimal(38, 0)) as partition_fingerprint
    from changed_partitions
    where is_gone
    {%- endif %}
)

select * from final
