-- One row per (order_id, line_number): a re-delivered line, the latest load
-- wins. Amounts are cast to decimals in the order currency and converted to
-- EUR with the currency_rates seed.
-- Incremental like stg_events__web_events: only raw rows loaded since the
-- newest staged _loaded_at; a re-delivered line replaces its earlier version.
{{ config(
    materialized='incremental',
    unique_key=['order_id', 'line_number_raw'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with

source as (
    select * from {{ source('orders', 'order_lines') }}
    {%- if is_incremental() %}
    where _loaded_at > {{ loaded_watermark() }}
    {%- endif %}
),

currency_rates as (
    select * from {{ ref('currency_rates') }}
),

typed as (
    select
        {{ blank_to_null('order_id') }} as order_id,
        {{ try_cast(blank_to_null('line_number'), 'integer') }} as line_number,
        {{ blank_to_null('line_number') }} as line_number_raw,
        {{ blank_to_null('order_ts') }} as order_ts_raw,
        {{ parse_timestamp_utc('order_ts') }} as order_ts,
        {{ blank_to_null('crm_id') }} as crm_id,
        {{ normalize_email('email') }} as email,
        lower({{ blank_to_null('status') }}) as status,
        lower({{ blank_to_null('channel') }}) as channel,
        upper({{ blank_to_null('currency') }}) as currency,
        {{ blank_to_null('product_id') }} as product_id,
        {{ try_cast(blank_to_null('quantity'), 'integer') }} as quantity,
        {{ try_cast(blank_to_null('unit_price'), 'decimal(18, 4)') }} as unit_price,
        {{ blank_to_null('discount_amount') }} as discount_amount_raw,
        coalesce({{ try_cast(blank_to_null('discount_amount'), 'decimal(18, 4)') }}, 0) as discount_amount,
        _file_name,
        _batch_id,
        _row_number,
        _loaded_at
    from source
),

ranked as (
    select
        typed.*,
        row_number() over (
            partition by order_id, line_number_raw
            order by _loaded_at desc, _file_name desc, _row_number desc
        ) as load_rank
    from typed
    where order_id is not null
),

final as (
    select
        ranked.order_id,
        ranked.line_number,
        ranked.line_number_raw,
        ranked.order_ts,
        ranked.order_ts_raw,
        ranked.order_ts is null as order_ts_is_invalid,
        cast(ranked.order_ts as date) as order_date,
        ranked.crm_id,
        ranked.email,
        ranked.status,
        ranked.status in ('completed', 'cancelled', 'refunded') as status_is_known,
        ranked.channel,
        ranked.currency,
        ranked.product_id,
        ranked.quantity,
        ranked.unit_price,
        ranked.discount_amount,
        ranked.quantity is null or ranked.unit_price is null
            or (ranked.discount_amount_raw is not null
                and {{ try_cast('ranked.discount_amount_raw', 'decimal(18, 4)') }} is null) as amount_is_invalid,
        ranked.quantity * ranked.unit_price - ranked.discount_amount as net_amount,
        currency_rates.eur_rate,
        cast((ranked.quantity * ranked.unit_price - ranked.discount_amount) * currency_rates.eur_rate
            as decimal(18, 4)) as net_amount_eur,
        ranked._file_name,
        ranked._batch_id,
        ranked._row_number,
        ranked._loaded_at
    from ranked
    left join currency_rates
        on ranked.currency = currency_rates.currency
    where ranked.load_rank = 1
)

select * from final
