-- Entered / exited events of primary segments: on each as_of_date in
-- segment_history that has a previous date there, a customer whose segment
-- differs from the previous date's 'exited' the old one and 'entered' the
-- new one (a customer new since the previous date only enters, one gone
-- since only exits). The first date in history has no events.

with

history as (
    select * from {{ ref('segment_history') }}
),

date_pairs as (
    select
        as_of_date as to_as_of_date,
        lag(as_of_date) over (order by as_of_date) as from_as_of_date
    from (select distinct as_of_date from history) as history_dates
),

pairs as (
    select * from date_pairs where from_as_of_date is not null
),

compared as (
    select
        pairs.to_as_of_date as as_of_date,
        coalesce(after.customer_key, before.customer_key) as customer_key,
        before.segment as from_segment,
        after.segment as to_segment
    from pairs
    inner join history as before
        on before.as_of_date = pairs.from_as_of_date
    left join history as after
        on after.as_of_date = pairs.to_as_of_date
       and after.customer_key = before.customer_key
    union all
    select
        pairs.to_as_of_date as as_of_date,
        after.customer_key,
        cast(null as {{ dbt.type_string() }}) as from_segment,
        after.segment as to_segment
    from pairs
    inner join history as after
        on after.as_of_date = pairs.to_as_of_date
    left join history as before
        on before.as_of_date = pairs.from_as_of_date
       and before.customer_key = after.customer_key
    where before.customer_key is null
),

changed as (
    select * from compared
    where from_segment is null or to_segment is null or from_segment <> to_segment
),

events as (
    select as_of_date, customer_key, from_segment as segment, 'exited' as event
    from changed
    where from_segment is not null
    union all
    select as_of_date, customer_key, to_segment as segment, 'entered' as event
    from changed
    where to_segment is not null
),

final as (
    select
        as_of_date,
        customer_key,
        segment,
        event
    from events
)

select * from final
