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

{#- The rows read, as a subquery wherever it is read (see
    stg_events__web_events: a CTE read twice would be materialised). -#}
{%- set batch -%}
    (
        select * from {{ source('orders', 'order_lines') }}
        {%- if is_incremental() %}
        where _loaded_at > {{ loaded_watermark() }}
        {%- endif %}
    )
{%- endset %}
{#- A line's key; blank_to_null leaves no empty string, so '' stands for a
    missing line number without meeting a real one. -#}
{%- set line_key = "coalesce(" ~ blank_to_null('line_number') ~ ", '')" %}

with

-- Lines delivered more than once among the rows read: only these go through
-- the window below, not every row with every column (as in
-- stg_events__web_events).
repeated as (
    select
        {{ blank_to_null('order_id') }} as order_id,
        {{ line_key }} as line_key
    from {{ batch }} as batch
    where {{ blank_to_null('order_id') }} is not null
    group by {{ blank_to_null('order_id') }}, {{ line_key }}
    having count(*) > 1
),

repeated_versions as (
    select
        versions._loaded_at,
        versions._file_name,
        versions._row_number,
        row_number() over (
            partition by versions.order_id, versions.line_key
            order by versions._loaded_at desc, versions._file_name desc, versions._row_number desc
        ) as load_rank
    from (
        select
            {{ blank_to_null('order_id') }} as order_id,
            {{ line_key }} as line_key,
            _loaded_at,
            _file_name,
            _row_number
        from {{ batch }} as batch
    ) as versions
    inner join repeated
        on versions.order_id = repeated.order_id
        and versions.line_key = repeated.line_key
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
    from {{ batch }} as source
),

-- A line delivered once is its own latest version.
ranked as (
    select
        typed.*,
        coalesce(repeated_versions.load_rank, 1) as load_rank
    from typed
    left join repeated_versions
        on typed._loaded_at = repeated_versions._loaded_at
        and typed._file_name = repeated_versions._file_name
        and typed._row_number = repeated_versions._row_number
    where typed.order_id is not null
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
