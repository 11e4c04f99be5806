-- Undirected edges of the identity graph, one row per pair (node_a < node_b),
-- without edges that touch an excluded (over-shared) identifier.

with

links as (
    select * from {{ ref('int_identity_links') }}
),

nodes as (
    select * from {{ ref('int_identity_nodes') }}
),

oriented as (
    select
        case when node_a < node_b then node_a else node_b end as node_a,
        case when node_a < node_b then node_b else node_a end as node_b,
        link_source
    from links
    where node_a <> node_b
),

usable as (
    select oriented.*
    from oriented
    inner join nodes as a
        on oriented.node_a = a.node_id and not a.is_excluded
    inner join nodes as b
        on oriented.node_b = b.node_id and not b.is_excluded
),

final as (
    select
        node_a,
        node_b,
        min(link_source) as link_source,
        count(*) as link_count
    from usable
    group by node_a, node_b
)

select * from final
