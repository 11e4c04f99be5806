-- Connected components of the identity graph: every node_key with its
-- component_key, the smallest node_key of its component (node keys are in
-- node_id order, so that node has the component's smallest node_id: the
-- component_id of int_identity_nodes_resolved). Only the two integers are
-- written: the identifiers are in int_identity_nodes, and
-- int_identity_nodes_resolved puts them side by side with the customer key
-- (writing the strings here as well cost ~9 s at `large`, bench/RESULTS.md).
-- Computed by the dispatched macro connected_components
-- (macros/cross_db/connected_components.sql): on DuckDB two plain passes of
-- min-label propagation, then a recursive CTE from the nodes whose label
-- still dropped, carrying a label on only while it is smaller (terminates on
-- any input: the node-label pairs are finite and UNION visits each once);
-- elsewhere min-label propagation unrolled for var identity_label_passes
-- passes, or WITH RECURSIVE reachability on PostgreSQL.

with

nodes as (
    select node_key from {{ ref('int_identity_nodes') }}
),

edges as (
    select key_a, key_b from {{ ref('int_identity_edges') }}
),

labels as (
    {{ segments.connected_components('nodes', 'node_key', 'edges', 'key_a', 'key_b') }}
),

final as (
    select
        node_key,
        component_key
    from labels
)

select * from final
