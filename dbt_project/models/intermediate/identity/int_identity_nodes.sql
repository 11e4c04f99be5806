-- One row per identifier seen in any source. An email, phone or anonymous id
-- tied to more than var('identity_max_crm_ids_per_identifier') distinct CRM
-- ids (a placeholder like test@example.com, a shop phone, a shared device)
-- is excluded: it stays a node but links nobody.

with

links as (
    select * from {{ ref('int_identity_links') }}
),

crm_customers as (
    select * from {{ ref('stg_crm__customers') }}
),

web_events as (
    select * from {{ ref('stg_events__web_events') }}
),

order_lines as (
    select * from {{ ref('stg_orders__order_lines') }}
),

observed as (
    select 'crm:' || crm_id as node_id, 'crm' as node_type, crm_id as node_value from crm_customers
    union all
    select 'email:' || email, 'email', email from crm_customers where email is not null
    union all
    select 'phone:' || phone_e164, 'phone', phone_e164 from crm_customers where phone_e164 is not null
    union all
    select 'crm:' || user_id, 'crm', user_id from web_events where user_id is not null
    union all
    select 'anon:' || anonymous_id, 'anon', anonymous_id from web_events where anonymous_id is not null
    union all
    select 'email:' || email, 'email', email from web_events where email is not null
    union all
    select 'order:' || order_id, 'order', order_id from order_lines
    union all
    select 'crm:' || crm_id, 'crm', crm_id from order_lines where crm_id is not null
    union all
    select 'email:' || email, 'email', email from order_lines where email is not null
),

nodes as (
    select distinct node_id, node_type, node_value from observed
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

crm_records as (
    select distinct 'crm:' || crm_id as node_id from crm_customers
),

final as (
    select
        nodes.node_id,
        nodes.node_type,
        nodes.node_value,
        crm_records.node_id is not null as is_crm_record,
        coalesce(crm_ids_per_identifier.linked_crm_ids, 0) as linked_crm_ids,
        coalesce(crm_ids_per_identifier.linked_crm_ids, 0)
            > {{ var('identity_max_crm_ids_per_identifier', 5) }} as is_excluded
    from nodes
    left join crm_ids_per_identifier
        on nodes.node_id = crm_ids_per_identifier.node_id
    left join crm_records
        on nodes.node_id = crm_records.node_id
)

select * from final
