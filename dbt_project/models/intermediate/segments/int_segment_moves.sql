-- Each customer's move between consecutive as_of_dates of segment_history:
-- one row per (from_as_of_date, to_as_of_date, customer_key) where
-- from_as_of_date is the date before to_as_of_date in history, with the
-- primary segment on each date (null: absent on that date, i.e. new since,
-- or gone, e.g. merged into another customer). Stayers are rows too. The
-- first date in history has no rows. segment_transitions and
-- segment_membership_events are both read from here, so the per-customer
-- comparison of two dates is written (and computed) once.
--
-- Incremental (delete+insert on to_as_of_date): a run recomputes only the
-- pairs that touch the slice it (re)wrote into segment_history (the
-- as_of_date of customer_segments) plus any date of history that has no
-- moves yet. Re-running a day replaces its pair and the next one; backfilling
-- an older date d between d1 and d2 inserts (d1, d) and (d, d2), and deleting
-- to_as_of_date d2 drops the stale pair (d1, d2). --full-refresh recomputes
-- every pair from segment_history (which itself is never rebuilt).
-- depends_on: {{ ref('customer_segments') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='to_as_of_date',
    on_schema_change='fail'
) }}

with

history as (
    select as_of_date, customer_key, segment
    from {{ ref('segment_history') }}
),

date_pairs as (
    select
        lag(as_of_date) over (order by as_of_date) as from_as_of_date,
        as_of_date as to_as_of_date
    from (select distinct as_of_date from history) as history_dates
),

pairs as (
    select from_as_of_date, to_as_of_date
    from date_pairs
    where from_as_of_date is not null
    {%- if is_incremental() %}
      and (
          from_as_of_date in (select distinct as_of_date from {{ ref('customer_segments') }})
          or to_as_of_date in (select distinct as_of_date from {{ ref('customer_segments') }})
          or to_as_of_date not in (select distinct to_as_of_date from {{ this }})
      )
    {%- endif %}
),

before as (
    select pairs.from_as_of_date, pairs.to_as_of_date, history.customer_key, history.segment
    from pairs
    inner join history
        on history.as_of_date = pairs.from_as_of_date
),

after as (
    select pairs.from_as_of_date, pairs.to_as_of_date, history.customer_key, history.segment
    from pairs
    inner join history
        on history.as_of_date = pairs.to_as_of_date
),

final as (
    select
        coalesce(before.from_as_of_date, after.from_as_of_date) as from_as_of_date,
        coalesce(before.to_as_of_date, after.to_as_of_date) as to_as_of_date,
        coalesce(before.customer_key, after.customer_key) as customer_key,
        before.segment as from_segment,
        after.segment as to_segment
    from before
    full outer join after
        on before.to_as_of_date = after.to_as_of_date
       and before.customer_key = after.customer_key
)

select * from final
