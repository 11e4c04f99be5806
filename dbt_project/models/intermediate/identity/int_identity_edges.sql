-- Undirected edges of the identity graph, one row per pair (node_a < node_b,
-- so key_a < key_b too), without edges that touch an excluded (super-node)
-- identifier. key_a / key_b are the nodes' integer node_keys.

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

grouped as (
    select
        node_a,
        node_b,
        min(link_source) as link_source,
        count(*) as link_count
    from oriented
    group by node_a, node_b
),

final as (
    select
        grouped.node_a,
        grouped.node_b,
        a.node_key as key_a,
        b.node_key as key_b,
        grouped.link_source,
        grouped.link_count
    from grouped
    inner join nodes as a
        on grouped.node_a = a.node_id and not a.is_excluded
    inner join nodes as b
        on grouped.node_b = b.node_id and not b.is_excluded
)

select * from final
