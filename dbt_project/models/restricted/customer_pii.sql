-- Direct identifiers of each customer (golden record by survivorship): for
-- every field, the value of the most recently updated CRM record that has
-- one; a guest's email is the one on their latest order. Restricted schema:
-- never published, never joined into a BI mart.

with

customers as (
    select * from {{ ref('int_customers_resolved') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where customer_key is not null
),

crm_customers as (
    select * from {{ ref('stg_crm__customers') }}
),

order_lines as (
    select * from {{ ref('stg_orders__order_lines') }}
),

records as (
    select
        nodes.customer_key,
        crm_customers.*,
        row_number() over (
            partition by nodes.customer_key
            order by crm_customers.updated_at desc nulls last, crm_customers.crm_id desc
        ) as recency_rank
    from crm_customers
    inner join nodes
        on nodes.node_type = 'crm' and nodes.node_value = crm_customers.crm_id
),

{%- set fields = ['first_name', 'last_name', 'email', 'phone_e164', 'birth_date', 'street', 'city', 'postal_code', 'country_code'] %}
{% for field in fields %}
survivor_{{ field }} as (
    select customer_key, {{ field }}
    from (
        select
            customer_key,
            {{ field }},
            row_number() over (partition by customer_key order by recency_rank) as field_rank
        from records
        where {{ field }} is not null
    ) as ranked
    where field_rank = 1
),
{% endfor %}

latest_order_email as (
    select customer_key, email
    from (
        select
            nodes.customer_key,
            order_lines.email,
            row_number() over (
                partition by nodes.customer_key
                order by order_lines.order_ts desc nulls last, order_lines.order_id desc
            ) as email_rank
        from order_lines
        inner join nodes
            on nodes.node_id = 'order:' || order_lines.order_id
        where order_lines.email is not null
    ) as ranked
    where email_rank = 1
),

final as (
    select
        customers.customer_key,
        survivor_first_name.first_name,
        survivor_last_name.last_name,
        coalesce(survivor_email.email, latest_order_email.email) as email,
        survivor_phone_e164.phone_e164,
        survivor_birth_date.birth_date,
        survivor_street.street,
        survivor_city.city,
        survivor_postal_code.postal_code,
        survivor_country_code.country_code
    from customers
    {%- for field in fields %}
    left join survivor_{{ field }}
        on customers.customer_key = survivor_{{ field }}.customer_key
    {%- endfor %}
    left join latest_order_email
        on customers.customer_key = latest_order_email.customer_key
)

select * from final
