-- segment_summary accounts for every customer exactly once and shares add up to 1.
with

summary as (
    select sum(customers) as customers, sum(share) as share from {{ ref('segment_summary') }}
),

profiles as (
    select count(*) as customers from {{ ref('customer_profile') }}
)

select summary.customers, profiles.customers as profile_customers, summary.share
from summary
cross join profiles
where summary.customers <> profiles.customers
   or (profiles.customers > 0 and abs(summary.share - 1) > 0.000001)
