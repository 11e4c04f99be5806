-- Fuzzy matching of CRM records that deterministic stitching misses: the
-- same person typed in twice with a typo in the name and the email, no
-- shared phone. One row per compared pair (crm_id_a < crm_id_b) with the
-- similarities and the decision; is_match pairs become identity links
-- (link_source fuzzy_match). See docs/identity.md and
-- docs/adr/0002-fuzzy-matching.md.
--
-- Blocking: only records sharing one of these keys are compared, never all
-- pairs: (birth_date, postal_code), (birth_date, last_name_key),
-- (birth_date, first_name_key), (street_key, postal_code, last name
-- initial), (email local part), (email domain, last 4 characters of the
-- local part, last name initial). A block larger than var
-- identity_fuzzy_max_block_size is skipped. The two weak keys carry the last
-- name's initial: a match needs similar names anyway, and without it they
-- made 15M of the 17M candidate pairs at the large tier (1M records).
--
-- Decision (all thresholds are vars):
--   names:    Jaro-Winkler of the full name keys (first+last, also tried
--             swapped; last name only when a first name is missing)
--             >= identity_fuzzy_min_name_similarity;
--   vetoes:   different birth dates, or both have a phone and their last 8
--             digits differ;
--   evidence: same birth date; same address (postal code, and street keys
--             with Jaro-Winkler >= identity_fuzzy_min_street_similarity or
--             one street missing); emails within
--             identity_fuzzy_max_email_edits edits (computed only for pairs
--             whose names agree without a veto: null elsewhere); same phone
--             (last 8 digits: a national number read with another country's
--             code);
--   match:    names agree, no veto, and at least
--             identity_fuzzy_min_evidence pieces of evidence.
{%- set max_block = var('identity_fuzzy_max_block_size', 50) | int %}
{%- set min_name = var('identity_fuzzy_min_name_similarity', 0.85) %}
{%- set min_street = var('identity_fuzzy_min_street_similarity', 0.9) %}
{%- set max_edits = var('identity_fuzzy_max_email_edits', 2) | int %}
{%- set min_evidence = var('identity_fuzzy_min_evidence', 2) | int %}
{%- set blocks = [
    ('birth_postal', "cast(birth_date as " ~ dbt.type_string() ~ ") || '|' || postal_code"),
    ('birth_last', "cast(birth_date as " ~ dbt.type_string() ~ ") || '|' || last_name_key"),
    ('birth_first', "cast(birth_date as " ~ dbt.type_string() ~ ") || '|' || first_name_key"),
    ('address', "street_key || '|' || postal_code || '|' || left(last_name_key, 1)"),
    ('email_local', "nullif(split_part(email, '@', 1), '')"),
    ('email_domain_tail', "nullif(split_part(email, '@', 2), '') || '|' || right(split_part(email, '@', 1), 4) || '|' || left(last_name_key, 1)"),
] %}

with

records as {{ segments.materialized_cte() }} (
    select
        crm_id,
        first_name_key,
        last_name_key,
        birth_date,
        postal_code,
        street_key,
        email,
        phone_e164
    from {{ ref('stg_crm__customers') }}
    where last_name_key is not null
    {%- if not var('identity_fuzzy_enabled', true) %}
      and 1 = 0  -- var identity_fuzzy_enabled is false: compare nothing
    {%- endif %}
),

block_keys as (
    {%- for name, expr in blocks %}
    select '{{ name }}' as block_rule, {{ expr }} as block_key, crm_id
    from records
    where {{ expr }} is not null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

sized as {{ segments.materialized_cte() }} (
    select
        block_keys.*,
        count(*) over (partition by block_rule, block_key) as block_size
    from block_keys
),

candidate_pairs as {{ segments.materialized_cte() }} (
    select distinct
        a.crm_id as crm_id_a,
        b.crm_id as crm_id_b
    from sized as a
    inner join sized as b
        on a.block_rule = b.block_rule
        and a.block_key = b.block_key
        and a.crm_id < b.crm_id
    where a.block_size <= {{ max_block }}
),

compared as (
    select
        pairs.crm_id_a,
        pairs.crm_id_b,
        {{ segments.name_similarity('a', 'b') }} as name_similarity,
        case
            when a.birth_date is null or b.birth_date is null then null
            else a.birth_date = b.birth_date
        end as birth_date_agrees,
        a.postal_code = b.postal_code
            and coalesce({{ segments.jaro_winkler('a.street_key', 'b.street_key') }} >= {{ min_street }}, true) as address_agrees,
        case
            when a.phone_e164 is null or b.phone_e164 is null then null
            else right(a.phone_e164, 8) = right(b.phone_e164, 8)
        end as phone_agrees,
        a.email as email_a,
        b.email as email_b
    from candidate_pairs as pairs
    inner join records as a
        on pairs.crm_id_a = a.crm_id
    inner join records as b
        on pairs.crm_id_b = b.crm_id
),

vetted as (
    select
        compared.*,
        coalesce(not birth_date_agrees, false) or coalesce(not phone_agrees, false) as is_vetoed
    from compared
),

-- The email edit distance is the one expensive similarity (Damerau-Levenshtein:
-- ~30k pairs/s per core in DuckDB, against millions for Jaro-Winkler), so it is
-- computed only where it can change the decision: names agree, no veto, and the
-- lengths differ by at most the allowed edits. Elsewhere email_edits is null.
scored as (
    select
        crm_id_a,
        crm_id_b,
        name_similarity,
        birth_date_agrees,
        address_agrees,
        case
            when name_similarity >= {{ min_name }}
                and not is_vetoed
                and abs(length(email_a) - length(email_b)) <= {{ max_edits }}
                then {{ segments.edit_distance('email_a', 'email_b') }}
        end as email_edits,
        phone_agrees,
        is_vetoed
    from vetted
),

counted as (
    select
        scored.*,
        (case when birth_date_agrees then 1 else 0 end)
        + (case when coalesce(address_agrees, false) then 1 else 0 end)
        + (case when email_edits <= {{ max_edits }} then 1 else 0 end)
        + (case when phone_agrees then 1 else 0 end) as evidence
    from scored
),

final as (
    select
        crm_id_a,
        crm_id_b,
        name_similarity,
        birth_date_agrees,
        address_agrees,
        email_edits,
        phone_agrees,
        evidence,
        is_vetoed,
        name_similarity >= {{ min_name }}
            and not is_vetoed
            and evidence >= {{ min_evidence }} as is_match
    from counted
)

select * from final
