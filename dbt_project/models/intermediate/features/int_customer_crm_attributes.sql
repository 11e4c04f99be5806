-- CRM attributes per customer (golden record, non-identifying part):
-- merged record count, earliest signup, country and consent from the most
-- recently updated CRM record that has a value. Unknown consent = no.

with

customers as (
    select * from {{ ref('int_customers_resolved') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes_resolved') }}
    where node_type = 'crm' and is_crm_record
),

crm_customers as (
    select * from {{ ref('stg_crm__customers') }}
),

records as (
    select
        nodes.customer_key,
        crm_customers.*
    from crm_customers
    inner join nodes
        on nodes.node_value = crm_customers.crm_id
),

latest_record as (
    select customer_key, email_opt_in, sms_opt_in
    from (
        select
            records.*,
            row_number() over (
                partition by customer_key order by updated_at desc nulls last, crm_id desc
            ) as recency_rank
        from records
    ) as ranked
    where recency_rank = 1
),

latest_country as (
    select customer_key, country_code
    from (
        select
            records.*,
            row_number() over (
                partition by customer_key order by updated_at desc nulls last, crm_id desc
            ) as recency_rank
        from records
        where country_code is not null
    ) as ranked
    where recency_rank = 1
),

signup as (
    select customer_key, min(signup_date) as signup_date
    from records
    group by customer_key
),

final as (
    select
        customers.customer_key,
        customers.crm_record_count,
        customers.is_guest,
        latest_country.country_code,
        signup.signup_date,
        coalesce(latest_record.email_opt_in, false) as email_opt_in,
        coalesce(latest_record.sms_opt_in, false) as sms_opt_in
    from customers
    left join latest_record on customers.customer_key = latest_record.customer_key
    left join latest_country on customers.customer_key = latest_country.customer_key
    left join signup on customers.customer_key = signup.customer_key
)

select * from final
