{{ config(
    materialized='incremental',
    unique_key=['source', 'source_record'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="{{ segments.delete_where(this, 'customer_key is null') }}"
) }}
-- Every observation of a consent flag, by customer and channel:
--   email, sms  each delivered CRM record version (updated_at), source 'crm'
--   tracking    each web/app event (event_ts), source 'events'
-- Unknown (empty) consent counts as not granted: consent must be given.
-- Visitors that never resolve to a customer have no profile and are left out.
--
-- Incremental (a full rebuild resolved every event again, ~70 s of the
-- daily run at `large`): a run re-resolves only the source records whose
-- customer can have changed, and replaces their rows (delete+insert on
-- source, source_record):
--   * events and CRM versions loaded since the newest _loaded_at held here
--     (new data, late data and re-delivered events);
--   * events and CRM records with an identifier whose customer changed since
--     the last build: the nodes of int_identity_nodes_resolved whose
--     customer_key differs from int_consent_resolved_nodes, the identity map
--     this model was last resolved with (built right after it). A CRM record
--     is re-resolved with all its versions.
-- A record that no longer resolves (its customer is gone, or a re-delivered
-- event lost its session) is written with a null customer_key, which deletes
-- its old row, and the post-hook removes it. When the identity map is
-- missing (the first incremental run after upgrading), every node counts as
-- changed, i.e. everything is resolved again.

{%- set resolved_nodes = none %}
{%- if is_incremental() %}
{%- set resolved_nodes = adapter.get_relation(database=this.database, schema=this.schema,
                                               identifier='int_consent_resolved_nodes') %}
{%- endif %}

with

crm_versions as (
    select * from {{ ref('stg_crm__customer_versions') }}
),

web_events as (
    select * from {{ ref('stg_events__web_events') }}
    {%- if not is_incremental() %}
    -- email service events carry no session and no tracking flag
    where session_id is not null
    {%- endif %}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

{%- if is_incremental() %}

-- identifiers whose customer differs from the one the rows here were resolved with
changed_nodes as (
    {%- if resolved_nodes is none %}
    select node_type, node_value from nodes
    {%- else %}
    select
        coalesce(nodes.node_type, previous.node_type) as node_type,
        coalesce(nodes.node_value, previous.node_value) as node_value
    from nodes
    full outer join {{ resolved_nodes }} as previous
        on nodes.node_id = previous.node_id
    where nodes.customer_key is null
       or previous.customer_key is null
       or nodes.customer_key <> previous.customer_key
    {%- endif %}
),

crm_records_to_resolve as (
    select crm_id from crm_versions
    where _loaded_at > {{ loaded_watermark() }}
    union
    select node_value from changed_nodes
    where node_type = 'crm'
),

crm_versions_to_resolve as (
    select * from crm_versions
    where crm_id in (select crm_id from crm_records_to_resolve)
),

-- new and re-delivered events (also without a session: an event that lost
-- its session must lose its observation), and events with a changed identifier
events_to_resolve as (
    select * from web_events
    where _loaded_at > {{ loaded_watermark() }}
       or (session_id is not null and (
            user_id in (select node_value from changed_nodes where node_type = 'crm')
            or anonymous_id in (select node_value from changed_nodes where node_type = 'anon')
            or email in (select node_value from changed_nodes where node_type = 'email')))
),

{%- else %}

crm_versions_to_resolve as (
    select * from crm_versions
),

events_to_resolve as (
    select * from web_events
),

{%- endif %}

crm_resolved as (
    select
        nodes.customer_key,
        crm_versions_to_resolve.*
    from crm_versions_to_resolve
    left join nodes
        on nodes.node_id = 'crm:' || crm_versions_to_resolve.crm_id
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
        case when events_to_resolve.session_id is not null then {{ resolved_customer_key() }} end as customer_key,
        'tracking' as channel,
        coalesce(events_to_resolve.tracking_consent, false) as granted,
        events_to_resolve.event_ts as observed_at,
        'events' as source,
        events_to_resolve.event_id as source_record,
        events_to_resolve._loaded_at
    from events_to_resolve
    {{ join_identity_nodes('events_to_resolve') }}
),

final as (
    select * from crm_observations
    union all
    select * from event_observations
)

select * from final
{%- if not is_incremental() %}
where customer_key is not null
{%- endif %}
