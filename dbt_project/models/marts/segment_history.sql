-- Segment membership kept per run: one slice of customer_segments per
-- as_of_date. Incremental with delete+insert on as_of_date, so re-running a
-- day replaces that day's slice (idempotent) and leaves other days alone;
-- full_refresh = false, so `dbt build --full-refresh` never erases history.
-- Backfilling an older date inserts its slice; the later models order by date.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        full_refresh=false,
        on_schema_change='append_new_columns'
    )
}}

with

segments as (
    select * from {{ ref('customer_segments') }}
),

final as (
    select
        as_of_date,
        customer_key,
        segment,
        rfm_segment,
        lifecycle_stage
    from segments
)

select * from final
