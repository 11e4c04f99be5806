-- Every observation that two identifiers belong to the same person, one row
-- per (identifier, identifier, link source). Identifiers are typed node
-- ids: crm:<crm_id>, email:<normalized email>, phone:<E.164>,
-- anon:<anonymous_id>, order:<order_id>. A login's user_id is a CRM id; a
-- purchase event carries its order_id.
-- crm_id is the CRM id the link implies (null for order-email and fuzzy
-- links): an identifier tied to too many CRM ids is a super-node
-- (int_identity_nodes). Each staging model is read once.

with

crm_customers as (
    select crm_id, email, phone_e164
    from {{ ref('stg_crm__customers') }}
),

-- logins tie a cookie to a CRM id; a purchase event ties the cookie to its
-- order (a guest's browsing to the guest checkout). One row per link: a
-- login keeps no order_id, so the branches below need no distinct of their own.
event_links as (
    select distinct
        event_type = 'login' as is_login,
        user_id,
        anonymous_id,
        case when event_type = 'purchase' then order_id end as order_id
    from {{ ref('stg_events__web_events') }}
    -- the plain IN list is pushed into the scan: only login and purchase
    -- rows of the 45M-row table are read further
    where event_type in ('login', 'purchase')
      and anonymous_id is not null
      and ((event_type = 'login' and user_id is not null)
           or (event_type = 'purchase' and order_id is not null))
),

orders as (
    select distinct order_id, crm_id, email
    from {{ ref('stg_orders__order_lines') }}
    where crm_id is not null or email is not null
),

fuzzy as (
    select crm_id_a, crm_id_b
    from {{ ref('int_identity_fuzzy_matches') }}
    where is_match and {{ 'true' if var('identity_fuzzy_enabled', true) else 'false' }}
),

final as (
    select 'crm:' || crm_id as node_a, 'email:' || email as node_b, 'crm_email' as link_source, crm_id
    from crm_customers
    where email is not null
    union all
    select 'crm:' || crm_id, 'phone:' || phone_e164, 'crm_phone', crm_id
    from crm_customers
    where phone_e164 is not null
    union all
    select 'crm:' || user_id, 'anon:' || anonymous_id, 'login', user_id
    from event_links
    where is_login
    union all
    select 'order:' || order_id, 'anon:' || anonymous_id, 'purchase_event', user_id
    from event_links
    where not is_login
    union all
    select distinct 'order:' || order_id, 'crm:' || crm_id, 'order_crm', crm_id
    from orders
    where crm_id is not null
    union all
    select distinct 'order:' || order_id, 'email:' || email, 'order_email', cast(null as {{ dbt.type_string() }})
    from orders
    where email is not null
    union all
    -- an order that names both a CRM id and an email also ties that email to
    -- the CRM id (used only to count how widely an email is shared)
    select distinct 'crm:' || crm_id, 'email:' || email, 'order_email_crm', crm_id
    from orders
    where email is not null and crm_id is not null
    union all
    select 'crm:' || crm_id_a, 'crm:' || crm_id_b, 'fuzzy_match', cast(null as {{ dbt.type_string() }})
    from fuzzy
)

select * from final
