-- depends_on: {{ ref('int_consent_observations') }}
-- The identity map int_consent_observations was last resolved with: every
-- identifier that belongs to a customer, with that customer. Built right
-- after the observations (the depends_on above orders it; the observations
-- read it by name, not by ref, which would be a cycle). On its next
-- incremental run int_consent_observations compares it with the new
-- int_identity_nodes_resolved and re-resolves only the events and CRM
-- records of the identifiers whose customer changed. If a build fails
-- between the two, this map stays older and the next run re-resolves more
-- than it needs, never less.

with

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

final as (
    select
        node_id,
        node_type,
        node_value,
        customer_key
    from nodes
)

select * from final
