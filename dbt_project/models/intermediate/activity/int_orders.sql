-- One row per order, before identity: UTC order time, status (its lines'
-- status when they agree; a mixed order with at least one completed line is
-- 'completed'), and revenue over completed lines only:
-- sum(quantity * unit_price - discount) in EUR. int_orders_resolved adds the
-- customer.
-- Incremental: orders with a line loaded since the last build are
-- recomputed from all their staged lines.
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

order_lines as (
    select * from {{ ref('stg_orders__order_lines') }}
    {%- if is_incremental() %}
    where order_id in (
        select order_id
        from {{ ref('stg_orders__order_lines') }}
        where _loaded_at > {{ loaded_watermark('_max_loaded_at') }}
    )
    {%- endif %}
),

orders as (
    select
        order_id,
        min(order_ts) as order_ts,
        max(crm_id) as crm_id,
        max(email) as email,
        max(channel) as channel,
        max(currency) as currency,
        count(*) as line_count,
        count(distinct status) as status_count,
        max(status) as any_status,
        sum(case when status = 'completed' then 1 else 0 end) as completed_lines,
        sum(case when status = 'completed' then net_amount_eur else 0 end) as completed_revenue_eur,
        sum(case when status = 'completed' and discount_amount > 0 then 1 else 0 end) as discounted_lines,
        max(_loaded_at) as _max_loaded_at
    from order_lines
    group by order_id
),

final as (
    select
        order_id,
        order_ts,
        cast(order_ts as date) as order_date,
        case
            when status_count = 1 then any_status
            when completed_lines > 0 then 'completed'
            else any_status
        end as status,
        completed_lines > 0 as is_completed,
        discounted_lines > 0 as is_discounted,
        channel,
        currency,
        line_count,
        cast(completed_revenue_eur as decimal(18, 2)) as revenue_eur,
        crm_id is null as is_guest_checkout,
        _max_loaded_at
    from orders
)

select * from final
