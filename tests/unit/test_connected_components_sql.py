"""The DuckDB connected-components macro against a union-find on random graphs.

The macro (dbt_project/macros/cross_db/connected_components.sql) is plain
Jinja substitution, so it is rendered here with jinja2 and run on DuckDB
directly: hundreds of graphs in a second, where the dbt unit tests cover a
few hand-drawn ones. The graphs mix what breaks label propagation: long
chains with keys in random order (labels travel many hops), cycles, self
loops, duplicate edges, stars and isolated nodes.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import jinja2
import pytest

MACRO_FILE = Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "cross_db" / "connected_components.sql"


def render_duckdb_macro() -> str:
    module = jinja2.Environment().from_string(MACRO_FILE.read_text()).module
    return str(module.duckdb__connected_components("nodes", "node_key", "edges", "key_a", "key_b"))


def union_find_components(nodes: list[int], edges: list[tuple[int, int]]) -> dict[int, int]:
    parent = {n: n for n in nodes}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in nodes}


def random_graph(rng: random.Random) -> tuple[list[int], list[tuple[int, int]]]:
    n = rng.randint(1, 120)
    keys = rng.sample(range(1, 10 * n + 1), n)   # sparse, shuffled keys
    edges: list[tuple[int, int]] = []
    pos = 0
    while pos < n:
        size = rng.randint(1, min(40, n - pos))
        part = keys[pos:pos + size]
        shape = rng.choice(["chain", "cycle", "star", "random"])
        if shape in ("chain", "cycle"):
            edges += list(zip(part, part[1:]))
            if shape == "cycle" and size > 2:
                edges.append((part[-1], part[0]))
        elif shape == "star":
            edges += [(part[0], other) for other in part[1:]]
        else:
            edges += [(rng.choice(part), rng.choice(part)) for _ in range(size)]
        pos += size
    if edges:
        edges += rng.sample(edges, k=min(len(edges), 3))          # duplicates
    edges += [(k, k) for k in rng.sample(keys, k=min(n, 2))]        # self loops
    # edge orientation does not matter; the models give key_a < key_b but the macro must not rely on it
    edges = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in edges]
    return keys, edges


def components_in_duckdb(con: duckdb.DuckDBPyConnection, sql: str, nodes: list[int],
                         edges: list[tuple[int, int]]) -> dict[int, int]:
    con.execute("create or replace table nodes as select unnest(?::bigint[]) as node_key", [nodes])
    con.execute("create or replace table edges as select unnest(?::bigint[]) as key_a, unnest(?::bigint[]) as key_b",
                [[a for a, _ in edges], [b for _, b in edges]])
    return dict(con.execute(sql).fetchall())


@pytest.fixture(scope="module")
def macro_sql() -> str:
    return render_duckdb_macro()


def test_macro_renders_to_a_query_over_the_given_relations(macro_sql: str) -> None:
    assert "from nodes" in macro_sql and "from edges" in macro_sql
    assert "{{" not in macro_sql and "{%" not in macro_sql


def test_every_node_gets_the_smallest_key_of_its_component_on_random_graphs(macro_sql: str) -> None:
    rng = random.Random(20261126)
    con = duckdb.connect()
    for case in range(150):
        nodes, edges = random_graph(rng)
        got = components_in_duckdb(con, macro_sql, nodes, edges)
        want = union_find_components(nodes, edges)
        assert got == want, f"graph {case}: nodes {nodes}, edges {edges}"


def test_label_travels_the_whole_length_of_a_descending_chain(macro_sql: str) -> None:
    # keys fall along the chain, so every node but the far end starts with the wrong label
    # and the smallest key has to travel n - 1 hops through the frontier recursion
    n = 300
    keys = list(range(n, 0, -1))
    edges = list(zip(keys, keys[1:]))
    got = components_in_duckdb(duckdb.connect(), macro_sql, keys, edges)
    assert set(got.values()) == {1}
    assert len(got) == n
