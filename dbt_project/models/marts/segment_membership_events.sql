-- Entered / exited events of primary segments: on each as_of_date in
-- segment_history that has a previous date there, a customer whose segment
-- differs from the previous date's 'exited' the old one and 'entered' the
-- new one (a customer new since the previous date only enters, one gone
-- since only exits). The first date in history has no events. The
-- per-customer moves come from int_segment_moves (shared with
-- segment_transitions).

with

changed as (
    select
        to_as_of_date as as_of_date,
        customer_key,
        from_segment,
        to_segment
    from {{ ref('int_segment_moves') }}
    where from_segment is null
       or to_segment is null
       or from_segment <> to_segment
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
