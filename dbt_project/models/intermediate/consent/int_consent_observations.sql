-- Every observation of a consent flag, by customer and channel:
--   email, sms  each delivered CRM record version (updated_at), source 'crm'
--   tracking    each web/app event (event_ts), source 'events'
-- Unknown (empty) consent counts as not granted: consent must be given.
-- Visitors that never resolve to a customer have no profile and are left out.

with

crm_versions as (
    select * from {{ ref('stg_crm__customer_versions') }}
),

web_events as (
    select * from {{ ref('stg_events__web_events') }}
    -- email service events carry no session and no tracking flag
    where session_id is not null
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

crm_resolved as (
    select
        nodes.customer_key,
        crm_versions.*
    from crm_versions
    inner join nodes
        on nodes.node_id = 'crm:' || crm_versions.crm_id
),

crm_observations as (
    select customer_key, 'email' as channel, coalesce(email_opt_in, false) as granted,
           updated_at as observed_at, 'crm' as source, crm_id as source_record, _loaded_at
    from crm_resolved
    union all
    select customer_key, 'sms' as channel, coalesce(sms_opt_in, false) as granted,
           updated_at as observed_at, 'crm' as source, crm_id as source_record, _loaded_at
    from crm_resolved
),

-- same resolution order as int_events_resolved: user_id, anonymous_id, email
event_observations as (
    select
        {{ resolved_customer_key() }} as customer_key,
        'tracking' as channel,
        coalesce(web_events.tracking_consent, false) as granted,
        web_events.event_ts as observed_at,
        'events' as source,
        web_events.event_id as source_record,
        web_events._loaded_at
    from web_events
    {{ join_identity_nodes('web_events') }}
),

final as (
    select * from crm_observations
    union all
    select * from event_observations
    where customer_key is not null
)

select * from final
