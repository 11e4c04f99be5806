-- Connected components of the identity graph: every node with the smallest
-- node_id (= smallest node_key) of its component. Computed on the integer
-- node keys by the dispatched macro connected_components
-- (macros/cross_db/connected_components.sql): on DuckDB two plain passes of
-- min-label propagation, then a recursive CTE from the nodes whose label
-- still dropped, carrying a label on only while it is smaller (terminates on
-- any input: the node-label pairs are finite and UNION visits each once);
-- elsewhere min-label propagation unrolled for var identity_label_passes
-- passes, or WITH RECURSIVE reachability on PostgreSQL.

with

nodes as (
    select * from {{ ref('int_identity_nodes') }}
),

edges as (
    select key_a, key_b from {{ ref('int_identity_edges') }}
),

labels as (
    {{ segments.connected_components('nodes', 'node_key', 'edges', 'key_a', 'key_b') }}
),

final as (
    select
        nodes.node_id,
        nodes.node_key,
        nodes.node_type,
        nodes.node_value,
        nodes.is_crm_record,
        nodes.is_excluded,
        component_nodes.node_id as component_id,
        labels.component_key
    from nodes
    inner join labels
        on nodes.node_key = labels.node_key
    inner join nodes as component_nodes
        on labels.component_key = component_nodes.node_key
)

select * from final
