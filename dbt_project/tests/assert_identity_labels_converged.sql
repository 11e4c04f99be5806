-- The connected components converged: no edge joins two different
-- components. If this fails on an adapter that unrolls min-label
-- propagation, a component is longer than var identity_label_passes; raise
-- that var in dbt_project.yml.
select
    edges.key_a,
    edges.key_b,
    a.component_key as component_a,
    b.component_key as component_b
from {{ ref('int_identity_edges') }} as edges
inner join {{ ref('int_identity_components') }} as a
    on edges.key_a = a.node_key
inner join {{ ref('int_identity_components') }} as b
    on edges.key_b = b.node_key
where a.component_key <> b.component_key
