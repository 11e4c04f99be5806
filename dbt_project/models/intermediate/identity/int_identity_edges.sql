-- Undirected edges of the identity graph, one row per pair of integer node
-- keys (key_a < key_b, i.e. the smaller node_id first), without edges that
-- touch an excluded (super-node) identifier. Only the keys are kept: the
-- components are computed on them, and writing millions of string pairs
-- again cost more than the lookup (bench/RESULTS.md, session 5). The
-- identifiers are in int_identity_nodes (node_key).

with

links as (
    select node_a, node_b, link_source
    from {{ ref('int_identity_links') }}
    where node_a <> node_b
),

nodes as (
    select node_key, node_id
    from {{ ref('int_identity_nodes') }}
    where not is_excluded
),

-- each link as a pair of node keys, the smaller first
keyed as (
    select
        case when a.node_key < b.node_key then a.node_key else b.node_key end as key_a,
        case when a.node_key < b.node_key then b.node_key else a.node_key end as key_b,
        links.link_source
    from links
    inner join nodes as a
        on links.node_a = a.node_id
    inner join nodes as b
        on links.node_b = b.node_id
),

final as (
    select
        key_a,
        key_b,
        min(link_source) as link_source,
        count(*) as link_count
    from keyed
    group by key_a, key_b
)

select * from final
