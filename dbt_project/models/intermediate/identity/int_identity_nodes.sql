-- One row per identifier that takes part in identity resolution: both ends
-- of every link, every CRM record and every order (an order without CRM id
-- or email is a customer of its own). node_key is a dense integer id in
-- node_id order (the components are computed on integers, and the smallest
-- node_key of a component is its smallest node_id).
--
-- An email, phone or anonymous id tied to more distinct CRM ids than its
-- limit (var identity_max_crm_ids_by_type[node_type], else
-- var identity_max_crm_ids_per_identifier) is a super-node: a placeholder
-- like test@example.com, a shop phone, a shared device. It stays a node
-- but links nobody (is_excluded); int_identity_supernodes lists them.
-- A phone shared by CRM records whose names disagree (name similarity below
-- var identity_fuzzy_min_name_similarity, see macros/identity/name_similarity.sql)
-- is excluded the same way (has_name_conflict): two people in one household,
-- a reassigned or mistyped number. A phone alone then links nobody; a
-- person's records that share the phone and a name still link through it.
-- var identity_phone_requires_name_agreement: false turns this off.
-- Identifiers seen only in events (anonymous visitors who never log in,
-- email recipients) are not nodes: they cannot make anybody a customer.
{%- set default_limit = var('identity_max_crm_ids_per_identifier', 5) | int %}
{%- set limits = var('identity_max_crm_ids_by_type', {}) or {} %}
{%- set phone_limit = limits.get('phone', default_limit) | int %}
{%- set min_name = var('identity_fuzzy_min_name_similarity', 0.85) %}

with

links as (
    select * from {{ ref('int_identity_links') }}
),

crm_customers as (
    select crm_id, phone_e164, first_name_key, last_name_key
    from {{ ref('stg_crm__customers') }}
),

orders as (
    select distinct order_id from {{ ref('stg_orders__order_lines') }}
),

observed as (
    select node_a as node_id from links
    union all
    select node_b from links
    union all
    select 'crm:' || crm_id from crm_customers
    union all
    select 'order:' || order_id from orders
),

nodes as (
    select distinct node_id from observed
),

crm_phones as (
    select crm_id, phone_e164, first_name_key, last_name_key
    from crm_customers
    where phone_e164 is not null
      and last_name_key is not null
    {%- if not var('identity_phone_requires_name_agreement', true) %}
      and 1 = 0  -- var identity_phone_requires_name_agreement is false
    {%- endif %}
),

-- phones of 2 up to the phone limit CRM records (above it: a super-node anyway)
shared_phones as (
    select phone_e164
    from crm_phones
    group by phone_e164
    having count(*) between 2 and {{ phone_limit }}
),

phones_with_name_conflict as (
    select distinct 'phone:' || a.phone_e164 as node_id
    from crm_phones as a
    inner join crm_phones as b
        on a.phone_e164 = b.phone_e164
       and a.crm_id < b.crm_id
    inner join shared_phones
        on a.phone_e164 = shared_phones.phone_e164
    where {{ segments.name_similarity('a', 'b') }} < {{ min_name }}
),

crm_ids_per_identifier as (
    select
        node_b as node_id,
        count(distinct crm_id) as linked_crm_ids
    from links
    where crm_id is not null
      and node_b not like 'crm:%'
    group by node_b
),

typed as (
    select
        nodes.node_id,
        split_part(nodes.node_id, ':', 1) as node_type,
        substr(nodes.node_id, {{ dbt.position("':'", 'nodes.node_id') }} + 1) as node_value,
        crm_customers.crm_id is not null as is_crm_record,
        coalesce(crm_ids_per_identifier.linked_crm_ids, 0) as linked_crm_ids,
        phones_with_name_conflict.node_id is not null as has_name_conflict
    from nodes
    left join crm_ids_per_identifier
        on nodes.node_id = crm_ids_per_identifier.node_id
    left join crm_customers
        on nodes.node_id = 'crm:' || crm_customers.crm_id
    left join phones_with_name_conflict
        on nodes.node_id = phones_with_name_conflict.node_id
),

{%- set limit_expr -%}
    {%- if limits | length > 0 -%}
        case node_type
            {%- for node_type, limit in limits.items() %}
            when '{{ node_type }}' then {{ limit | int }}
            {%- endfor %}
            else {{ default_limit }}
        end
    {%- else -%}
        {{ default_limit }}
    {%- endif -%}
{%- endset %}

final as (
    select
        row_number() over (order by node_id) as node_key,
        node_id,
        node_type,
        node_value,
        is_crm_record,
        linked_crm_ids,
        {{ limit_expr }} as max_crm_ids,
        has_name_conflict,
        linked_crm_ids > {{ limit_expr }} or has_name_conflict as is_excluded
    from typed
)

select * from final
