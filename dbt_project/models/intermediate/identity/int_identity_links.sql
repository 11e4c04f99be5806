-- Every observation that two identifiers belong to the same person, one row
-- per (identifier, identifier, source record). Identifiers are typed node
-- ids: crm:<crm_id>, email:<normalized email>, phone:<E.164>,
-- anon:<anonymous_id>, order:<order_id>. A login's user_id is a CRM id.

with

crm_customers as (
    select * from {{ ref('stg_crm__customers') }}
),

web_events as (
    select * from {{ ref('stg_events__web_events') }}
),

order_lines as (
    select * from {{ ref('stg_orders__order_lines') }}
),

crm_email as (
    select distinct
        'crm:' || crm_id as node_a,
        'email:' || email as node_b,
        'crm_email' as link_source,
        crm_id
    from crm_customers
    where email is not null
),

crm_phone as (
    select distinct
        'crm:' || crm_id as node_a,
        'phone:' || phone_e164 as node_b,
        'crm_phone' as link_source,
        crm_id
    from crm_customers
    where phone_e164 is not null
),

login_anonymous as (
    select distinct
        'crm:' || user_id as node_a,
        'anon:' || anonymous_id as node_b,
        'login' as link_source,
        user_id as crm_id
    from web_events
    where event_type = 'login'
      and user_id is not null
      and anonymous_id is not null
),

order_crm as (
    select distinct
        'order:' || order_id as node_a,
        'crm:' || crm_id as node_b,
        'order_crm' as link_source,
        crm_id
    from order_lines
    where crm_id is not null
),

order_email as (
    select distinct
        'order:' || order_id as node_a,
        'email:' || email as node_b,
        'order_email' as link_source,
        cast(null as {{ dbt.type_string() }}) as crm_id
    from order_lines
    where email is not null
),

-- an order that names both a CRM id and an email also ties that email to the
-- CRM id (used only to count how widely an email is shared)
order_email_crm as (
    select distinct
        'crm:' || crm_id as node_a,
        'email:' || email as node_b,
        'order_email_crm' as link_source,
        crm_id
    from order_lines
    where email is not null
      and crm_id is not null
),

final as (
    select * from crm_email
    union all
    select * from crm_phone
    union all
    select * from login_anonymous
    union all
    select * from order_crm
    union all
    select * from order_email
    union all
    select * from order_email_crm
)

select * from final
