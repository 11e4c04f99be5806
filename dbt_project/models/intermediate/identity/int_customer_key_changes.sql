{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
) }}
-- The log of customer key changes, appended each run and never rebuilt:
-- one row per (old key, new key) whose anchors (CRM records, orders) moved
-- in this run.
--   merge  the old key no longer exists: its customer was merged into the
--          new one (e.g. a fuzzy match or a shared identifier that arrived)
--   split  the old key still exists: some of its records now form another
--          customer with the new key (e.g. an identifier became a
--          super-node)
-- Downstream history (segment history, exports) maps old keys forward with
-- it.

with

-- the anchors whose key or component changed in this run (the registry
-- writes only those)
keys as (
    select * from {{ ref('int_customer_keys') }}
    where dbt_invocation_id = '{{ invocation_id }}'
),

moves as (
    select
        previous_customer_key,
        customer_key,
        count(*) as anchors_moved
    from keys
    where previous_customer_key is not null
      and previous_customer_key <> customer_key
    group by previous_customer_key, customer_key
),

-- every customer's key after this run
current_keys as (
    select customer_key from {{ ref('int_customers_resolved') }}
),

final as (
    select
        moves.previous_customer_key as from_customer_key,
        moves.customer_key as to_customer_key,
        case when current_keys.customer_key is null then 'merge' else 'split' end as change_type,
        moves.anchors_moved,
        '{{ invocation_id }}' as dbt_invocation_id,
        {{ as_of_date() }} as as_of_date,
        cast(current_timestamp as {{ dbt.type_timestamp() }}) as recorded_at
    from moves
    left join current_keys
        on moves.previous_customer_key = current_keys.customer_key
)

select * from final
