-- Transition matrix of primary segments between each as_of_date in
-- segment_history and the previous as_of_date present there: how many
-- customers went from from_segment to to_segment (staying counts too:
-- from_segment = to_segment). '(none)' stands for a customer absent on that
-- date (new since, or gone, e.g. merged into another customer). The first
-- date in history has no previous date and no rows. The per-customer moves
-- come from int_segment_moves (shared with segment_membership_events).

with

moves as (
    select * from {{ ref('int_segment_moves') }}
),

final as (
    select
        from_as_of_date,
        to_as_of_date,
        coalesce(from_segment, '(none)') as from_segment,
        coalesce(to_segment, '(none)') as to_segment,
        count(*) as customers
    from moves
    group by 1, 2, 3, 4
)

select * from final
