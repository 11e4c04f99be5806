-- Size of every primary segment on every as_of_date in segment_history:
-- customers and share of that date's customers. A segment that is configured
-- now, or held customers on some date, is listed on every date (0 when empty),
-- so a segment that empties out shows as a drop to 0, not as a missing row.

with

history as (
    select * from {{ ref('segment_history') }}
),

configured_segments as (
    {{ segment_rules_rows() }}
),

history_dates as (
    select distinct as_of_date from history
),

all_segments as (
    select segment from configured_segments
    union
    select distinct segment from history
),

counts as (
    select as_of_date, segment, count(*) as customers
    from history
    group by as_of_date, segment
),

totals as (
    select as_of_date, count(*) as customers
    from history
    group by as_of_date
),

final as (
    select
        history_dates.as_of_date,
        all_segments.segment,
        coalesce(counts.customers, 0) as customers,
        cast(case
            when totals.customers = 0 then 0
            else 1.0 * coalesce(counts.customers, 0) / totals.customers
        end as {{ segments.type_double() }}) as share
    from history_dates
    cross join all_segments
    inner join totals
        on history_dates.as_of_date = totals.as_of_date
    left join counts
        on history_dates.as_of_date = counts.as_of_date
       and all_segments.segment = counts.segment
)

select * from final
