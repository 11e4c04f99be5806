-- Connected components of the identity graph: every node with the smallest
-- node_id (= smallest node_key) of its component. Computed on the integer
-- node keys by the dispatched macro connected_components
-- (macros/identity/connected_components.sql): on DuckDB a recursive CTE
-- keyed on the node (USING KEY) that only revisits nodes whose label just
-- dropped, so it stops when nothing changes and terminates on any input
-- (labels only decrease); elsewhere min-label propagation unrolled for var
-- identity_label_passes passes.

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
