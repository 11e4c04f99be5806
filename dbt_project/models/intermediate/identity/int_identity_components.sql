-- Connected components of the identity graph by min-label propagation:
-- every node starts with its own id as label and, in each pass, takes the
-- smallest label among itself and its neighbours. After as many passes as
-- the longest shortest path in a component, every node carries the
-- component's smallest node id. The passes are unrolled with a Jinja loop
-- (var identity_label_passes), so the query terminates on any input,
-- cycles included; the test assert_identity_labels_converged fails when a
-- component needs more passes than configured. Each pass reads the previous
-- one once, so the plan stays linear in the number of passes.
{%- set passes = var('identity_label_passes', 12) | int %}

with

nodes as (
    select * from {{ ref('int_identity_nodes') }}
),

edges as (
    select * from {{ ref('int_identity_edges') }}
),

-- both directions plus a self-loop, so one join keeps a node's own label
neighbours as (
    select node_a as node_id, node_b as neighbour_id from edges
    union all
    select node_b as node_id, node_a as neighbour_id from edges
    union all
    select node_id, node_id as neighbour_id from nodes
),

pass_0 as (
    select node_id, node_id as label from nodes
),
{% for i in range(1, passes + 1) %}
pass_{{ i }} as (
    select
        neighbours.node_id,
        min(pass_{{ i - 1 }}.label) as label
    from pass_{{ i - 1 }}
    inner join neighbours
        on pass_{{ i - 1 }}.node_id = neighbours.neighbour_id
    group by neighbours.node_id
),
{% endfor %}

final as (
    select
        nodes.node_id,
        nodes.node_type,
        nodes.node_value,
        nodes.is_crm_record,
        nodes.is_excluded,
        pass_{{ passes }}.label as component_id
    from nodes
    inner join pass_{{ passes }}
        on nodes.node_id = pass_{{ passes }}.node_id
)

select * from final
