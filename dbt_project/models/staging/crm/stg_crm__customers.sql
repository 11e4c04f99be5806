-- One row per crm_id: the version with the newest updated_at wins (ties: the
-- later load). Values are cast and normalised; a value that cannot be parsed
-- is kept in its *_raw column and flagged, never dropped.
-- Materialised, not a view: five models read it (identity links, nodes,
-- fuzzy matching, CRM attributes, the golden record), and as a view each of
-- them re-ran the normalisation (~37 s per read at 1M CRM records).
--
-- Incremental by fingerprint (macros/incremental/fingerprints.sql): every
-- row carries _versions_fingerprint, the sum of the row hashes of the
-- record's raw rows (every raw column this model reads, so an erasure that
-- redacts a raw value in place counts too; the phone and email settings and
-- the two country seeds hashed in), and record_versions, their count. A
-- run fingerprints every crm_id of the raw table (one aggregate) and
-- normalises again only the records whose fingerprint changed: a new
-- version, an expired (retention) or erased version. A full rebuild
-- normalised all ~1M records on every run (~20 s at `large`, for a day
-- with 5 new CRM rows). A crm_id without raw rows any more is deleted by
-- the post-hook, as a full rebuild would drop it. The one input that is not
-- a raw row is the as-of date (a birth date after it is rejected): records
-- whose birth date it moved across are normalised again too.
{%- set settings = [var('phone_default_calling_code', '49'), var('email_plus_addressing_domains', [])] | string %}
{%- set country_codes_hash %}(select sum({{ segments.row_hash(['country_name', 'country_code']) }}) from {{ ref('country_codes') }}){% endset %}
{%- set calling_codes_hash %}(select sum({{ segments.row_hash(['country_code', 'calling_code']) }}) from {{ ref('country_calling_codes') }}){% endset %}
{%- set raw_columns = ['crm_id', 'first_name', 'last_name', 'email', 'phone', 'birth_date', 'street', 'city',
                       'postal_code', 'country', 'signup_date', 'email_opt_in', 'sms_opt_in', 'updated_at',
                       '_file_name', '_batch_id', '_row_number', '_loaded_at'] %}
{%- set version_hash = segments.row_hash(raw_columns + [
                                          "'" ~ settings | replace("'", "") ~ "'",
                                          country_codes_hash, calling_codes_hash]) %}
{{ config(
    materialized='incremental',
    unique_key='crm_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{{ segments.delete_where(this, 'crm_id not in (select ' ~ blank_to_null('crm_id') ~ ' from ' ~ source('crm', 'crm_customers') ~ ' where ' ~ blank_to_null('crm_id') ~ ' is not null)') }}"
) }}

with

{%- if is_incremental() %}

-- The raw table is read twice (fingerprints, normalisation), each time from
-- the table, not through a CTE DuckDB could materialise.
versions as (
    select
        {{ blank_to_null('crm_id') }} as crm_id,
        count(*) as record_versions,
        sum({{ version_hash }}) as _versions_fingerprint
    from {{ source('crm', 'crm_customers') }}
    where {{ blank_to_null('crm_id') }} is not null
    group by {{ blank_to_null('crm_id') }}
),

changed_records as (
    {{ segments.changed_partitions('versions', 'crm_id', 'record_versions', '_versions_fingerprint') }}
    union
    -- A birth date is valid up to the as-of date (parse_birth_date), so a
    -- record whose raw rows did not change is judged again when the as-of
    -- date moved across its birth date: one stored as valid that now lies
    -- ahead (a backfill to an earlier date), one rejected that now parses.
    select crm_id
    from {{ this }}
    where birth_date > {{ as_of_date() }}
       or (birth_date_is_invalid and {{ parse_birth_date('birth_date_raw') }} is not null)
),

source as (
    select raw.*
    from {{ source('crm', 'crm_customers') }} as raw
    inner join changed_records
        on {{ blank_to_null('raw.crm_id') }} = changed_records.crm_id
),

{%- else %}

source as (
    select * from {{ source('crm', 'crm_customers') }}
),

{%- endif %}

country_codes as (
    select * from {{ ref('country_codes') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

typed as (
    select
        {{ blank_to_null('crm_id') }} as crm_id,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        {{ name_key('first_name') }} as first_name_key,
        {{ name_key('last_name') }} as last_name_key,
        {{ blank_to_null('email') }} as email_raw,
        {{ normalize_email('email') }} as email,
        {{ blank_to_null('phone') }} as phone_raw,
        {{ is_placeholder_phone('phone') }} as phone_is_placeholder,
        {{ blank_to_null('birth_date') }} as birth_date_raw,
        {{ parse_birth_date('birth_date') }} as birth_date,
        {{ clean_name('street') }} as street,
        {{ street_key('street') }} as street_key,
        {{ clean_name('city') }} as city,
        {{ name_key('city') }} as city_key,
        {{ normalize_postal_code('postal_code') }} as postal_code,
        {{ blank_to_null('country') }} as country_raw,
        {{ blank_to_null('signup_date') }} as signup_date_raw,
        {{ parse_date('signup_date') }} as signup_date,
        {{ parse_bool('email_opt_in') }} as email_opt_in,
        {{ parse_bool('sms_opt_in') }} as sms_opt_in,
        ({{ is_invalid_bool('email_opt_in') }} or {{ is_invalid_bool('sms_opt_in') }}) as opt_in_is_invalid,
        {{ blank_to_null('updated_at') }} as updated_at_raw,
        {{ parse_timestamp_utc('updated_at') }} as updated_at,
        -- of the raw values, as delivered (the fingerprint is of raw rows)
        {{ version_hash }} as _version_hash,
        _file_name,
        _batch_id,
        _row_number,
        _loaded_at
    from source
),

-- a national phone number (0...) takes the calling code of the record's country
with_country as (
    select
        typed.*,
        country_codes.country_code,
        {{ normalize_phone('typed.phone_raw', 'calling_codes.calling_code') }} as phone_e164
    from typed
    left join country_codes
        on lower(typed.country_raw) = country_codes.country_name
    left join calling_codes
        on country_codes.country_code = calling_codes.country_code
),

ranked as (
    select
        with_country.*,
        row_number() over (
            partition by crm_id
            order by updated_at desc nulls last, _loaded_at desc, _file_name desc, _row_number desc
        ) as version_rank,
        count(*) over (partition by crm_id) as record_versions,
        sum(_version_hash) over (partition by crm_id) as _versions_fingerprint
    from with_country
    -- a row without crm_id cannot be keyed (the loader rejects those)
    where crm_id is not null
),

flagged as (
    select
        crm_id,
        first_name,
        last_name,
        email,
        email_raw,
        email is not null and not {{ is_valid_email('email') }} as email_is_invalid,
        phone_e164,
        phone_raw,
        phone_raw is not null and phone_e164 is null as phone_is_invalid,
        birth_date,
        birth_date_raw,
        birth_date_raw is not null and birth_date is null as birth_date_is_invalid,
        street,
        city,
        postal_code,
        country_code,
        country_raw,
        country_raw is not null and country_code is null as country_is_unknown,
        signup_date,
        signup_date_raw,
        signup_date_raw is not null and signup_date is null as signup_date_is_invalid,
        email_opt_in,
        sms_opt_in,
        opt_in_is_invalid,
        updated_at,
        updated_at_raw,
        updated_at is null as updated_at_is_invalid,
        record_versions,
        _versions_fingerprint,
        _file_name,
        _batch_id,
        _row_number,
        _loaded_at,
        -- matching keys (identity resolution) and further flags
        first_name_key,
        last_name_key,
        street_key,
        city_key,
        coalesce(phone_is_placeholder, false) as phone_is_placeholder,
        not {{ is_valid_postal_code('postal_code', 'country_code') }} as postal_code_is_invalid
    from ranked
    where version_rank = 1
),

final as (
    select
        flagged.*,
        -- every field whose delivered value could not be normalised, comma-separated
        nullif(concat_ws(',',
            case when email_is_invalid then 'email' end,
            case when phone_is_invalid then 'phone' end,
            case when birth_date_is_invalid then 'birth_date' end,
            case when postal_code_is_invalid then 'postal_code' end,
            case when country_is_unknown then 'country' end,
            case when signup_date_is_invalid then 'signup_date' end,
            case when opt_in_is_invalid then 'opt_in' end,
            case when updated_at_is_invalid then 'updated_at' end
        ), '') as normalization_issues
    from flagged
)

select * from final
