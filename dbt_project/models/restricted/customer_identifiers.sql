-- Every identifier that resolved to a customer: CRM ids, emails, phones,
-- anonymous ids and order ids, by customer_key. Restricted (holds emails and
-- phones); the way to look up which records were merged into a customer.

with

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
),

final as (
    select
        customer_key,
        node_type as identifier_type,
        node_value as identifier_value,
        is_crm_record,
        is_excluded
    from nodes
    where customer_key is not null
)

select * from final
