{{ config(
    materialized='incremental',
    unique_key='customer_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{{ segments.delete_where(this, 'customer_key not in (select customer_key from ' ~ ref('int_customers_resolved') ~ ')') }}"
) }}
-- Direct identifiers of each customer: the golden record. Every CRM record
-- and every order of the customer offers values (candidates); per field a
-- survivorship rule picks the winner among the non-null candidates:
--   source_priority  the first source in var golden_record_source_priority
--                    (crm before orders), then the most recent
--   most_recent      the newest observation (CRM updated_at, order time),
--                    then source priority
--   most_frequent    the value most records agree on (a typo in one record
--                    is outvoted), then the most recent
-- Rules per field: var golden_record_rules. For every field, <field>_source
-- says which source won and <field>_won_by which record (crm:<crm_id> or
-- order:<order_id>). Restricted schema: never published, never joined into
-- a BI mart.
{%- set default_rules = {
    'first_name': 'most_frequent', 'last_name': 'most_frequent', 'email': 'source_priority',
    'phone_e164': 'most_recent', 'birth_date': 'most_frequent', 'street': 'most_recent',
    'city': 'most_recent', 'postal_code': 'most_recent', 'country_code': 'most_recent'} %}
{%- set rules = default_rules.copy() %}
{%- do rules.update(var('golden_record_rules', {}) or {}) %}
{%- set priority = var('golden_record_source_priority', ['crm', 'orders']) %}
{%- set fields = ['first_name', 'last_name', 'email', 'phone_e164', 'birth_date', 'street', 'city', 'postal_code', 'country_code'] %}
{%- for field, rule in rules.items() %}
    {%- if rule not in ('source_priority', 'most_recent', 'most_frequent') %}
        {{ exceptions.raise_compiler_error("var golden_record_rules: field " ~ field ~ " has rule '" ~ rule ~ "'; expected source_priority, most_recent or most_frequent [rule: golden_record_rule]") }}
    {%- endif %}
    {%- if field not in fields %}
        {{ exceptions.raise_compiler_error("var golden_record_rules: unknown field '" ~ field ~ "'; fields are " ~ fields | join(', ') ~ " [rule: golden_record_field]") }}
    {%- endif %}
{%- endfor %}
--
-- Incremental by fingerprint (macros/incremental/fingerprints.sql): a row
-- depends only on the customer's candidates and the rules, so every row
-- carries _candidate_count and _candidate_fingerprint (the sum of the
-- candidates' row hashes, the rules hashed in). A run computes every
-- customer's candidates (joins, no sort) and ranks only those of customers
-- whose fingerprint changed: new CRM versions or orders, identity merges and
-- splits, a changed rule. A full rebuild ranked ~11M candidates at `large` on
-- every run (~30 s). A customer_key that no longer exists is deleted by the
-- post-hook, as a full rebuild would drop it.
{%- set rules_signature = (rules | dictsort | list | string) ~ '|' ~ (priority | list | string) %}
{%- set candidate_hash = segments.row_hash(['field', 'value', 'source', 'record_id', 'observed_at',
                                            "'" ~ rules_signature | replace("'", "") ~ "'"]) %}

with

customers as (
    select * from {{ ref('int_customers_resolved') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
      and node_type in ('crm', 'order')
),

crm_customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    select
        order_id,
        max(email) as email,
        max(order_ts) as order_ts
    from {{ ref('stg_orders__order_lines') }}
    where email is not null
    group by order_id
),

crm_records as (
    select
        nodes.customer_key,
        'crm' as source,
        'crm:' || crm_customers.crm_id as record_id,
        crm_customers.updated_at as observed_at,
        crm_customers.*
    from crm_customers
    inner join nodes
        on nodes.node_id = 'crm:' || crm_customers.crm_id
),

candidates as (
    {%- for field in fields %}
    select
        customer_key,
        '{{ field }}' as field,
        cast({{ field }} as {{ dbt.type_string() }}) as value,
        source,
        record_id,
        observed_at
    from crm_records
    where {{ field }} is not null
    union all
    {%- endfor %}
    select
        nodes.customer_key,
        'email' as field,
        orders.email as value,
        'orders' as source,
        'order:' || orders.order_id as record_id,
        orders.order_ts as observed_at
    from orders
    inner join nodes
        on nodes.node_id = 'order:' || orders.order_id
),

-- per customer: how many candidates, and the sum of their hashes
customer_fingerprints as (
    select
        customers.customer_key,
        coalesce(candidate_fingerprints.candidate_count, 0) as _candidate_count,
        coalesce(candidate_fingerprints.candidate_fingerprint, 0) as _candidate_fingerprint
    from customers
    left join (
        select
            customer_key,
            count(*) as candidate_count,
            sum({{ candidate_hash }}) as candidate_fingerprint
        from candidates
        group by customer_key
    ) as candidate_fingerprints
        on customers.customer_key = candidate_fingerprints.customer_key
),

{%- if is_incremental() %}

changed_customers as (
    {{ segments.changed_partitions('customer_fingerprints', 'customer_key',
                                   '_candidate_count', '_candidate_fingerprint') }}
),

customers_to_build as (
    select customer_fingerprints.*
    from customer_fingerprints
    inner join changed_customers
        on customer_fingerprints.customer_key = changed_customers.customer_key
),

candidates_to_rank as (
    select candidates.*
    from candidates
    inner join customers_to_build
        on candidates.customer_key = customers_to_build.customer_key
),

{%- else %}

customers_to_build as (
    select * from customer_fingerprints
),

candidates_to_rank as (
    select * from candidates
),

{%- endif %}

scored as (
    select
        candidates_to_rank.*,
        case source
            {%- for s in priority %}
            when '{{ s }}' then {{ loop.index }}
            {%- endfor %}
            else {{ priority | length + 1 }}
        end as source_rank,
        count(*) over (partition by customer_key, field, value) as value_frequency
    from candidates_to_rank
),

ranked as (
    select
        scored.*,
        row_number() over (
            partition by customer_key, field
            order by
                case field
                    {%- for field, rule in rules.items() %}
                    when '{{ field }}' then {{ {'source_priority': 'source_rank', 'most_recent': '0', 'most_frequent': '-value_frequency'}[rule] }}
                    {%- endfor %}
                end,
                observed_at desc nulls last,
                source_rank,
                record_id desc
        ) as survivor_rank
    from scored
),

winners as (
    select customer_key, field, value, source, record_id
    from ranked
    where survivor_rank = 1
),

final as (
    select
        customers_to_build.customer_key,
        {%- for field in fields %}
        {%- if field == 'birth_date' %}
        cast(max(case when winners.field = '{{ field }}' then winners.value end) as date) as {{ field }},
        {%- else %}
        max(case when winners.field = '{{ field }}' then winners.value end) as {{ field }},
        {%- endif %}
        {%- endfor %}
        {%- for field in fields %}
        max(case when winners.field = '{{ field }}' then winners.source end) as {{ field }}_source,
        max(case when winners.field = '{{ field }}' then winners.record_id end) as {{ field }}_won_by,
        {%- endfor %}
        customers_to_build._candidate_count,
        customers_to_build._candidate_fingerprint
    from customers_to_build
    left join winners
        on customers_to_build.customer_key = winners.customer_key
    group by customers_to_build.customer_key, customers_to_build._candidate_count, customers_to_build._candidate_fingerprint
)

select * from final
