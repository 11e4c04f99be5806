-- One row per web/app session (email events have no session) with its
-- customer: each identifier combination seen in the session resolves through
-- its user_id (a CRM id), else its anonymous_id, else its email; the session
-- belongs to the largest customer_key among them (null: an anonymous visitor
-- who is not a customer). Built from the incremental, identity-free
-- int_web_sessions and int_web_session_identifiers.

with

sessions as (
    select * from {{ ref('int_web_sessions') }}
),

identifiers as (
    select * from {{ ref('int_web_session_identifiers') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

tracking_consent as (
    select * from {{ ref('int_consent_current') }}
    where channel = 'tracking'
),

session_customers as (
    select
        identifiers.session_id,
        max({{ resolved_customer_key() }}) as customer_key
    from identifiers
    {{ join_identity_nodes('identifiers') }}
    group by identifiers.session_id
),

final as (
    select
        sessions.session_id,
        session_customers.customer_key,
        sessions.session_start_ts,
        sessions.session_date,
        sessions.device_type,
        sessions.page_views,
        sessions.has_add_to_cart,
        sessions.has_purchase,
        sessions.is_cart_abandoned
    from sessions
    left join session_customers
        on sessions.session_id = session_customers.session_id
    -- Privacy (issue 6, docs/privacy.md): a customer whose current tracking
    -- consent is withdrawn loses their earlier sessions from the next run on.
    left join tracking_consent
        on session_customers.customer_key = tracking_consent.customer_key
    where tracking_consent.granted is distinct from false
)

select * from final
