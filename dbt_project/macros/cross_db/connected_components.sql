{#
  Connected components of an undirected graph given as a node relation
  (integer key column) and an edge relation (two integer key columns).
  Returns a query with (node_key, component_key): component_key is the
  smallest node key of the node's component. Every node of `nodes` is in
  the result, isolated ones as their own component.

  Both implementations terminate on any input (cycles, long chains, self
  loops): labels only ever decrease and are bounded below.
#}
{% macro connected_components(nodes, node_key, edges, key_a, key_b) -%}
    {{ return(adapter.dispatch('connected_components', 'segments')(nodes, node_key, edges, key_a, key_b)) }}
{%- endmacro %}

{#
  DuckDB: two plain passes of min-label propagation, then a recursive CTE
  over the frontier only.

  pass 1: every node's label is the smallest key among itself and its
          neighbours; pass 2: the smallest pass-1 label among its neighbours
          (which is never above its own pass-1 label). After pass 2 a node
          knows the smallest key within two hops.
  cc_reach: the nodes whose label dropped in pass 2 (the frontier) offer it
          to their neighbours, and a label moves on only while it is below
          the receiving node's pass-2 label. UNION keeps each (node, label)
          pair once, so it ends on cycles; labels are node keys of the
          component, so the set of pairs is finite.

  Why it is right: take the component's smallest key m and a node v at
  distance d from it. For d <= 2, pass 2 gives v the label m. For d >= 3,
  on a shortest path m, v1, v2, ..., v the node v2 is two hops from m, so
  its label dropped to m in pass 2 (pass 1 gave it more than m): it is in
  the frontier with m. Every later node on the path is more than two hops
  from m, so its pass-2 label is above m and m moves on to v.

  Why this shape: the passes are plain hash aggregates, and the recursion
  carries only labels that still improve something, without looking up the
  whole label table in every iteration. At 'large' (6.5M nodes, 8.8M
  edges) the frontier is 3.0M nodes and the reach set 3.2M pairs; the
  labels take 10.4 s, where the earlier recursive CTE keyed on the node
  (USING KEY, a lookup of every current label per iteration) took 30.9 s
  (same machine, same graph: bench/RESULTS.md "Identity resolution").
  The reach set grows with the square of a component's size in the worst
  case (a long chain with falling keys); components stay small because
  super-nodes are excluded first.
#}
{% macro duckdb__connected_components(nodes, node_key, edges, key_a, key_b) -%}
    with recursive
    cc_neighbours as materialized (
        select {{ key_a }} as src, {{ key_b }} as dst from {{ edges }}
        union all
        select {{ key_b }} as src, {{ key_a }} as dst from {{ edges }}
    ),
    cc_pass_1 as materialized (
        select src as node_key, least(src, min(dst)) as label
        from cc_neighbours
        group by src
    ),
    cc_pass_2 as materialized (
        select
            cc_neighbours.src as node_key,
            min(cc_pass_1.label) as label,
            least(cc_neighbours.src, min(cc_neighbours.dst)) as pass_1_label
        from cc_neighbours
        inner join cc_pass_1
            on cc_pass_1.node_key = cc_neighbours.dst
        group by cc_neighbours.src
    ),
    cc_reach(node_key, label) as (
        select node_key, label from cc_pass_2
        where label < pass_1_label
        union
        select cc_neighbours.dst as node_key, cc_reach.label
        from cc_reach
        inner join cc_neighbours
            on cc_neighbours.src = cc_reach.node_key
        inner join cc_pass_2
            on cc_pass_2.node_key = cc_neighbours.dst
        where cc_reach.label < cc_pass_2.label
    ),
    cc_labels as (
        select node_key, min(label) as label
        from (
            select node_key, label from cc_pass_2
            union all
            select node_key, label from cc_reach
        ) as offered
        group by node_key
    )
    select
        {{ nodes }}.{{ node_key }} as node_key,
        coalesce(cc_labels.label, {{ nodes }}.{{ node_key }}) as component_key
    from {{ nodes }}
    left join cc_labels
        on {{ nodes }}.{{ node_key }} = cc_labels.node_key
{%- endmacro %}

{#
  PostgreSQL: WITH RECURSIVE cannot aggregate in its recursive term, so it
  computes which smaller node keys reach each node (a label moves along an
  edge only to a larger key: the component's smallest key still reaches
  every node, as every other node on a path from it is larger). UNION drops
  pairs already found, so cycles end. The work grows with the square of a
  component's size; components stay small because super-nodes (identifiers
  shared by too many CRM ids) are excluded before this step.
#}
{% macro postgres__connected_components(nodes, node_key, edges, key_a, key_b) -%}
    with recursive
    cc_neighbours as (
        select {{ key_a }} as src, {{ key_b }} as dst from {{ edges }}
        union
        select {{ key_b }} as src, {{ key_a }} as dst from {{ edges }}
    ),
    cc_reach(node_key, label) as (
        select src, src from cc_neighbours
        union
        select cc_neighbours.dst, cc_reach.label
        from cc_reach
        inner join cc_neighbours
            on cc_neighbours.src = cc_reach.node_key
        where cc_reach.label < cc_neighbours.dst
    ),
    cc_labels as (
        select node_key, min(label) as label
        from cc_reach
        group by node_key
    )
    select
        {{ nodes }}.{{ node_key }} as node_key,
        coalesce(cc_labels.label, {{ nodes }}.{{ node_key }}) as component_key
    from {{ nodes }}
    left join cc_labels
        on {{ nodes }}.{{ node_key }} = cc_labels.node_key
{%- endmacro %}

{#
  Spark (and other adapters): Spark 3.5 has no recursive CTE. Min-label
  propagation unrolled for var identity_label_passes passes with a Jinja
  loop. The singular test
  assert_identity_labels_converged fails when a component needs more
  passes than configured.
#}
{% macro default__connected_components(nodes, node_key, edges, key_a, key_b) -%}
    {%- set passes = var('identity_label_passes', 12) | int -%}
    with
    cc_neighbours as (
        select {{ key_a }} as src, {{ key_b }} as dst from {{ edges }}
        union all
        select {{ key_b }} as src, {{ key_a }} as dst from {{ edges }}
        union all
        select {{ node_key }} as src, {{ node_key }} as dst from {{ nodes }}
    ),
    cc_pass_0 as (
        select {{ node_key }} as node_key, {{ node_key }} as label from {{ nodes }}
    ),
    {%- for i in range(1, passes + 1) %}
    cc_pass_{{ i }} as (
        select cc_neighbours.dst as node_key, min(cc_pass_{{ i - 1 }}.label) as label
        from cc_pass_{{ i - 1 }}
        inner join cc_neighbours
            on cc_pass_{{ i - 1 }}.node_key = cc_neighbours.src
        group by cc_neighbours.dst
    ){{ ',' if not loop.last }}
    {%- endfor %}
    select node_key, label as component_key from cc_pass_{{ passes }}
{%- endmacro %}
