-- Transition matrix of primary segments between each as_of_date in
-- segment_history and the previous as_of_date present there: how many
-- customers went from from_segment to to_segment (staying counts too:
-- from_segment = to_segment). '(none)' stands for a customer absent on that
-- date (new since, or gone, e.g. merged into another customer). The first
-- date in history has no previous date and no rows.

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

moves as (
    select
        pairs.from_as_of_date,
        pairs.to_as_of_date,
        coalesce(before.segment, '(none)') as from_segment,
        coalesce(after.segment, '(none)') as to_segment
    from pairs
    inner join history as before
        on before.as_of_date = pairs.from_as_of_date
    left join history as after
        on after.as_of_date = pairs.to_as_of_date
       and after.customer_key = before.customer_key
    union all
    -- customers present on the later date only
    select
        pairs.from_as_of_date,
        pairs.to_as_of_date,
        '(none)' as from_segment,
        after.segment as to_segment
    from pairs
    inner join history as after
        on after.as_of_date = pairs.to_as_of_date
    left join history as before
        on before.as_of_date = pairs.from_as_of_date
       and before.customer_key = after.customer_key
    where before.customer_key is null
),

final as (
    select
        from_as_of_date,
        to_as_of_date,
        from_segment,
        to_segment,
        count(*) as customers
    from moves
    group by from_as_of_date, to_as_of_date, from_segment, to_segment
)

select * from final
