-- Every event with the customer it belongs to: through its user_id (a CRM
-- id) when logged in, else its anonymous_id (linked by an earlier or later
-- login), else its email (email service events). customer_key is null for
-- anonymous visitors who never became customers.
-- A view: 45M rows at the large tier, so it is no longer rebuilt each run;
-- the features read the incremental per-session and per-day models instead.
{{ config(materialized='view') }}

with

web_events as (
    select * from {{ ref('stg_events__web_events') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

tracking_consent as (
    select * from {{ ref('int_consent_current') }}
    where channel = 'tracking'
),

resolved as (
    select
        web_events.event_id,
        {{ resolved_customer_key() }} as customer_key,
        web_events.event_ts,
        web_events.event_date,
        web_events.event_type,
        web_events.session_id,
        web_events.anonymous_id,
        web_events.user_id,
        web_events.order_id,
        web_events.device_type,
        web_events.tracking_consent
    from web_events
    {{ join_identity_nodes('web_events') }}
),

-- Privacy (issue 6, docs/privacy.md): a web/app event feeds a profile only
-- with tracking consent, both the event's own flag and the customer's
-- current tracking consent (a withdrawal drops their earlier tracking too,
-- from the next run on). Email events have no session and are kept: they
-- fall under the email channel's consent.
final as (
    select resolved.*
    from resolved
    left join tracking_consent
        on resolved.customer_key = tracking_consent.customer_key
    where resolved.session_id is null
        or (coalesce(resolved.tracking_consent, false) and coalesce(tracking_consent.granted, true))
)

select * from final
