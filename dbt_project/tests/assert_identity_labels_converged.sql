-- Min-label propagation converged: no edge joins two different components.
-- If this fails, a component is longer than var identity_label_passes;
-- raise that var in dbt_project.yml.
select
    edges.node_a,
    edges.node_b,
    a.component_id as component_a,
    b.component_id as component_b
from {{ ref('int_identity_edges') }} as edges
inner join {{ ref('int_identity_components') }} as a
    on edges.node_a = a.node_id
inner join {{ ref('int_identity_components') }} as b
    on edges.node_b = b.node_id
where a.component_id <> b.component_id
