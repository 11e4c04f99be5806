r"""Splink vs the dbt SQL fuzzy-matching rules: pairwise precision / recall / F1
of the CRM-record clusters against the generator's ground truth, with wall
time and peak memory (issue 4, docs/adr/0002-fuzzy-matching.md).

What it does. Reads staging.stg_crm__customers (the normalised CRM records)
from a warehouse built by bench/identity.py --build, READ-ONLY (the file is
ATTACHed read-only into an in-memory DuckDB that Splink works in), and
dedupes the CRM records with Splink on DuckDB:

- blocking: the blocking keys of int_identity_fuzzy_matches: (birth_date,
  postal_code), (birth_date, last_name_key), (birth_date, first_name_key),
  (street_key, postal_code, last-name initial), email local part, (email
  domain, last 4 characters of the local part, last-name initial). Splink
  has no "skip blocks over 50 records" cap (ours has): every blocked pair is
  scored.
- comparisons: names (Splink's ForenameSurnameComparison: exact full name
  with term frequencies, swapped, Jaro-Winkler >= 0.92 / >= 0.85 on both
  parts, exact surname, exact forename), birth date (DateOfBirthComparison:
  exact, 1 character, 1 month, 1 year, 10 years), address (postal code and
  street: exact, street Jaro-Winkler >= 0.9 or one street missing, postal
  code only), email (exact, Damerau-Levenshtein <= 1, <= 2), phone (last 8
  digits, as ours).
- training, unsupervised: probability that two random records match from
  deterministic rules (assumed recall --prior-recall), u by random sampling
  (--u-max-pairs, seeded), m by EM over two blocking rules (same first and
  last name; same birth date).
- predict every blocked pair, then cluster (connected components) at each
  --thresholds match probability.

Scoring (the contingency-table method of bench/identity.py pairwise_accuracy,
restricted to the CRM records of ground_truth/records.csv, source 'crm';
a CRM record in no cluster is a cluster of its own):
- splink@t                 Splink's clusters alone (CRM attributes only);
- splink@t+deterministic   Splink's pairs united with our deterministic
                           identity edges (intermediate.int_identity_edges
                           minus fuzzy_match: email, phone, login, order...),
                           connected components: comparable to ours_full;
- ours_full                our pipeline: intermediate.int_identity_nodes_resolved,
                           node_id 'crm:' || crm_id -> customer_key;
- ours_full_recomputed     components of all our edges computed here (a check
                           that the component code reproduces ours_full);
- ours_deterministic_only  our edges without fuzzy_match;
- ours_fuzzy_rules_only    the is_match pairs of int_identity_fuzzy_matches
                           alone: comparable to splink@t.
Each variant also reports the recall of ground_truth/crm_duplicates.csv
pairs per match_kind (fuzzy_only, same_email_other_case, ...).

Times: Splink's wall time per phase and in total (load from the warehouse
to the last clustering), peak RSS of this process after the Splink phase
(getrusage; includes the interpreter and DuckDB). Ours: --ours-json, the
output of bench/identity.py --build, supplies the dbt build wall time, the
dbt process's peak RSS and the int_identity_fuzzy_matches model time.

Reproduce (from /work/main; nice because the machine is shared):
    .venv/bin/uv venv /work/scratch/splink-venv --python 3.11
    .venv/bin/uv pip install --python /work/scratch/splink-venv/bin/python splink==5.0.0
    nice -n 19 .venv/bin/segments generate --size small --seed 42 --as-of 2026-11-25 \
        --out /work/scratch/splink/small
    nice -n 19 .venv/bin/python bench/identity_raw_load.py --landing /work/scratch/splink/small/landing \
        --warehouse /work/scratch/splink/warehouse/warehouse.duckdb
    nice -n 19 .venv/bin/python bench/identity.py --warehouse /work/scratch/splink/warehouse/warehouse.duckdb \
        --ground-truth /work/scratch/splink/small/ground_truth --build \
        --json /work/scratch/splink/identity_small_ours.json
    nice -n 19 /work/scratch/splink-venv/bin/python bench/splink_compare.py \
        --warehouse /work/scratch/splink/warehouse/warehouse.duckdb \
        --ground-truth /work/scratch/splink/small/ground_truth \
        --ours-json /work/scratch/splink/identity_small_ours.json \
        --json bench/results/identity_splink_small.json
This script needs only splink (and its duckdb, pyarrow); it does not import
the project package, so it runs in the separate Splink venv.

A 100k-person sample (no such --size; SIZES extended in the calling process
only, nothing in the project changes), then the same three bench steps:
    nice -n 19 .venv/bin/python -c 'from datetime import date; from pathlib import Path
    import segmentation.generator as g
    g.SIZES["p100k"] = g.SizeSpec(persons=100_000, persons_per_part=25_000, visitors_per_person=0.5)
    g.generate("p100k", 42, date(2026, 11, 25), Path("/work/scratch/splink/p100k"))'
    nice -n 19 .venv/bin/python bench/identity_raw_load.py --landing /work/scratch/splink/p100k/landing \
        --warehouse /work/scratch/splink/wh100k/warehouse.duckdb --identity-events-only
    nice -n 19 .venv/bin/python bench/identity.py --warehouse /work/scratch/splink/wh100k/warehouse.duckdb \
        --ground-truth /work/scratch/splink/p100k/ground_truth --build --skip-tests \
        --json /work/scratch/splink/identity_p100k_ours.json
    nice -n 19 /work/scratch/splink-venv/bin/python bench/splink_compare.py \
        --warehouse /work/scratch/splink/wh100k/warehouse.duckdb \
        --ground-truth /work/scratch/splink/p100k/ground_truth \
        --ours-json /work/scratch/splink/identity_p100k_ours.json \
        --json /work/scratch/splink/identity_splink_p100k.json

Caveats: unsupervised training is sensitive to --u-max-pairs (u sampling
dominates Splink's run time: the email edit distance is evaluated on every
sampled pair whose lengths are close); the prior match probability rests on
an assumed recall (--prior-recall); Splink warns that some levels (swapped
names, emails 2 edits apart, phone) could not be fully trained on this data.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

logger = logging.getLogger("bench.splink_compare")

CRM_COLUMNS = "crm_id, first_name_key, last_name_key, birth_date, postal_code, street_key, email, phone_e164"


@dataclass
class Timer:
    """Wall-clock seconds per named phase."""

    phases: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, fn, *args, **kwargs):
        start = time.monotonic()
        result = fn(*args, **kwargs)
        self.phases[name] = round(time.monotonic() - start, 2)
        logger.info("%s: %.1f s", name, self.phases[name])
        return result


class DisjointSet:
    """Union-find over string node ids (connected components of an edge list)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def load_crm(con: duckdb.DuckDBPyConnection, warehouse: Path) -> int:
    """Copy the normalised CRM records (plus derived blocking columns) into memory."""
    if not warehouse.exists():
        raise FileNotFoundError(f"{warehouse}: warehouse not found (build it with bench/identity.py --build)")
    con.execute(f"attach '{warehouse}' as wh (read_only)")
    con.execute(f"""
        create or replace table crm_records as
        select
            {CRM_COLUMNS},
            first_name_key || last_name_key as full_name_key,
            left(last_name_key, 1) as last_initial,
            nullif(split_part(email, '@', 1), '') as email_local,
            nullif(split_part(email, '@', 2), '') as email_domain,
            right(nullif(split_part(email, '@', 1), ''), 4) as email_tail4,
            right(phone_e164, 8) as phone_last8
        from wh.staging.stg_crm__customers
    """)
    return con.execute("select count(*) from crm_records").fetchall()[0][0]


def address_comparison() -> cl.CustomComparison:
    postal_equal = cll.ExactMatchLevel("postal_code")
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("postal_code"),
            cll.And(postal_equal, cll.ExactMatchLevel("street_key")),
            cll.And(postal_equal, cll.Or(cll.JaroWinklerLevel("street_key", 0.9),
                                         cll.CustomLevel("street_key_l is null or street_key_r is null"))),
            postal_equal,
            cll.ElseLevel(),
        ],
        comparison_description="postal code and street key",
    )


def email_comparison() -> cl.CustomComparison:
    # the length guard keeps Damerau-Levenshtein (the expensive function) off
    # pairs whose lengths already differ by more than the allowed edits
    def within(edits: int) -> cll.And:
        return cll.And(cll.CustomLevel(f"abs(length(email_l) - length(email_r)) <= {edits}"),
                       cll.DamerauLevenshteinLevel("email", edits))

    return cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[cll.NullLevel("email"), cll.ExactMatchLevel("email"), within(1), within(2),
                           cll.ElseLevel()],
        comparison_description="normalised email, edit distance",
    )


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="crm_id",
        blocking_rules_to_generate_predictions=[
            block_on("birth_date", "postal_code"),
            block_on("birth_date", "last_name_key"),
            block_on("birth_date", "first_name_key"),
            block_on("street_key", "postal_code", "last_initial"),
            block_on("email_local"),
            block_on("email_domain", "email_tail4", "last_initial"),
        ],
        comparisons=[
            cl.ForenameSurnameComparison("first_name_key", "last_name_key", jaro_winkler_thresholds=[0.92, 0.85],
                                         forename_surname_concat_col_name="full_name_key"),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            address_comparison(),
            email_comparison(),
            cl.ExactMatch("phone_last8"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def train(linker: Linker, u_max_pairs: float, prior_recall: float, seed: int, timer: Timer) -> None:
    timer.run("train_prior_s", linker.training.estimate_probability_two_random_records_match,
              [block_on("first_name_key", "last_name_key", "birth_date"), block_on("email")], recall=prior_recall)
    timer.run("train_u_s", linker.training.estimate_u_using_random_sampling, max_pairs=u_max_pairs, seed=seed)
    timer.run("train_em_names_s", linker.training.estimate_parameters_using_expectation_maximisation,
              block_on("first_name_key", "last_name_key"))
    timer.run("train_em_birth_date_s", linker.training.estimate_parameters_using_expectation_maximisation,
              block_on("birth_date"))


def run_splink(con: duckdb.DuckDBPyConnection, warehouse: Path, thresholds: list[float], u_max_pairs: float,
               prior_recall: float, seed: int) -> dict:
    """Train, predict and cluster; returns figures and leaves tables splink_pairs / splink_clusters."""
    timer = Timer()
    start = time.monotonic()
    records = timer.run("load_s", load_crm, con, warehouse)
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register("crm_records"), settings(), log_level=logging.WARNING)
    train(linker, u_max_pairs, prior_recall, seed, timer)
    predictions = timer.run("predict_s", linker.inference.predict)
    con.execute(f"""
        create or replace table splink_pairs as
        select crm_id_l, crm_id_r, match_probability, match_weight, match_key
        from {predictions.physical_name}
    """)
    clusters = []
    for t in thresholds:
        df = timer.run(f"cluster_{t}_s", linker.clustering.cluster_pairwise_predictions_at_threshold,
                       predictions, threshold_match_probability=t)
        clusters.append(f"select {t} as threshold, crm_id, cast(cluster_id as varchar) as cluster "
                        f"from {df.physical_name}")
    con.execute("create or replace table splink_clusters as " + " union all ".join(clusters))
    wall = round(time.monotonic() - start, 2)
    pairs_by_rule = con.execute("select match_key, count(*) from splink_pairs group by 1 order by 1").fetchall()
    model = linker.misc.save_model_to_json()
    return {
        "splink_version": splink.__version__, "duckdb_version": duckdb.__version__,
        "crm_records": records, "wall_s": wall, "phases_s": timer.phases, "peak_rss_mb": peak_rss_mb(),
        "candidate_pairs_scored": con.execute("select count(*) from splink_pairs").fetchall()[0][0],
        "candidate_pairs_by_blocking_rule": {str(k): n for k, n in pairs_by_rule},
        "pairs_at_threshold": {str(t): con.execute("select count(*) from splink_pairs where match_probability >= ?",
                                                   [t]).fetchall()[0][0] for t in thresholds},
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
        "u_max_pairs": u_max_pairs, "prior_recall_assumed": prior_recall, "seed": seed,
        "model": model,
    }


def load_truth(con: duckdb.DuckDBPyConnection, ground_truth: Path) -> int:
    records_csv = ground_truth / "records.csv"
    duplicates_csv = ground_truth / "crm_duplicates.csv"
    for path in (records_csv, duplicates_csv):
        if not path.exists():
            raise FileNotFoundError(f"{path}: ground truth file not found")
    con.execute("create or replace table truth as select record_key as crm_id, person_id "
                "from read_csv(?, header = true, all_varchar = true) where source = 'crm'", [str(records_csv)])
    con.execute("create or replace table truth_duplicates as select crm_id, duplicate_crm_id, match_kind "
                "from read_csv(?, header = true, all_varchar = true)", [str(duplicates_csv)])
    return con.execute("select count(*) from truth").fetchall()[0][0]


def score(con: duckdb.DuckDBPyConnection, assignment_sql: str) -> dict:
    """Pairwise P/R/F1 of an assignment (crm_id, cluster) over the ground-truth CRM records."""
    con.execute(f"""
        create or replace temp table assigned as
        select truth.crm_id, truth.person_id,
               coalesce(a.cluster, 'single:' || truth.crm_id) as cluster
        from truth
        left join ({assignment_sql}) as a on a.crm_id = truth.crm_id
    """)
    dupes = con.execute("select count(*) from (select crm_id from assigned group by 1 "
                        "having count(*) > 1)").fetchall()[0][0]
    if dupes:
        raise ValueError(f"assignment gives {dupes} CRM records more than one cluster: {assignment_sql[:200]}")
    tp, predicted, true = (int(v or 0) for v in con.execute("""
        with cells as (select person_id, cluster, count(*) as n from assigned group by all),
             persons as (select person_id, count(*) as n from assigned group by all),
             clusters as (select cluster, count(*) as n from assigned group by all)
        select (select sum(n * (n - 1) / 2) from cells),
               (select sum(n * (n - 1) / 2) from clusters),
               (select sum(n * (n - 1) / 2) from persons)
    """).fetchall()[0])
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    merged = con.execute("select count(*) from (select cluster from assigned group by cluster "
                         "having count(distinct person_id) > 1)").fetchall()[0][0]
    split = con.execute("select count(*) from (select person_id from assigned group by person_id "
                        "having count(distinct cluster) > 1)").fetchall()[0][0]
    by_kind = con.execute("""
        select d.match_kind, count(*) as pairs, count(*) filter (where a.cluster = b.cluster) as found
        from truth_duplicates as d
        join assigned as a on a.crm_id = d.crm_id
        join assigned as b on b.crm_id = d.duplicate_crm_id
        group by 1 order by 1
    """).fetchall()
    return {
        "precision": round(precision, 6), "recall": round(recall, 6), "f1": round(f1, 6),
        "true_positive_pairs": tp, "predicted_pairs": predicted, "true_pairs": true,
        "clusters_merging_persons": int(merged), "persons_split": int(split),
        "duplicate_recall_by_match_kind": {k: {"pairs": p, "found": f, "recall": round(f / p, 4)}
                                           for k, p, f in by_kind},
    }


def splink_pair_margin(con: duckdb.DuckDBPyConnection) -> dict:
    """How well Splink's match probability separates true from false candidate pairs."""
    rows = con.execute("""
        with labelled as (
            select p.match_probability, ta.person_id = tb.person_id as is_true
            from splink_pairs as p
            join truth as ta on ta.crm_id = p.crm_id_l
            join truth as tb on tb.crm_id = p.crm_id_r
        )
        select is_true, count(*), min(match_probability), max(match_probability),
               count(*) filter (where match_probability >= 0.5),
               count(*) filter (where match_probability >= 0.9)
        from labelled group by 1 order by 1
    """).fetchall()
    return {("true_pairs" if t else "false_pairs"): {"scored": n, "min_probability": lo, "max_probability": hi,
                                                    "at_or_above_0.5": a5, "at_or_above_0.9": a9}
            for t, n, lo, hi, a5, a9 in rows}


def components_table(con: duckdb.DuckDBPyConnection, name: str, edges: list[tuple[str, str]]) -> str:
    """Connected components of typed node ids; a table (crm_id, cluster) of the CRM nodes."""
    ds = DisjointSet()
    for a, b in edges:
        ds.union(a, b)
    crm_nodes = [node for node in ds.parent if node.startswith("crm:")]
    arrow = pa.table({"crm_id": pa.array([n[len("crm:"):] for n in crm_nodes], pa.string()),
                      "cluster": pa.array([ds.find(n) for n in crm_nodes], pa.string())})
    con.register(f"{name}_arrow", arrow)
    con.execute(f"create or replace table {name} as select crm_id, cluster from {name}_arrow")
    con.unregister(f"{name}_arrow")
    return f"select crm_id, cluster from {name}"


def score_all(con: duckdb.DuckDBPyConnection, thresholds: list[float]) -> dict:
    edges_sql = ("select a.node_id, b.node_id from wh.intermediate.int_identity_edges as e "
                 "join wh.intermediate.int_identity_nodes as a on e.key_a = a.node_key "
                 "join wh.intermediate.int_identity_nodes as b on e.key_b = b.node_key")
    deterministic = con.execute(edges_sql + " where e.link_source <> 'fuzzy_match'").fetchall()
    all_edges = con.execute(edges_sql).fetchall()
    fuzzy = con.execute("select 'crm:' || crm_id_a, 'crm:' || crm_id_b "
                        "from wh.intermediate.int_identity_fuzzy_matches where is_match").fetchall()
    out: dict = {}
    for t in thresholds:
        out[f"splink@{t}"] = score(con, f"select crm_id, cluster from splink_clusters where threshold = {t}")
        pairs = con.execute("select 'crm:' || crm_id_l, 'crm:' || crm_id_r from splink_pairs "
                            "where match_probability >= ?", [t]).fetchall()
        out[f"splink@{t}+deterministic"] = score(con, components_table(con, "cc_splink_det", deterministic + pairs))
    out["ours_full"] = score(con, "select substr(node_id, 5) as crm_id, customer_key as cluster "
                                  "from wh.intermediate.int_identity_nodes_resolved where node_id like 'crm:%'")
    out["ours_full_recomputed"] = score(con, components_table(con, "cc_ours_all", all_edges))
    out["ours_deterministic_only"] = score(con, components_table(con, "cc_ours_det", deterministic))
    out["ours_fuzzy_rules_only"] = score(con, components_table(con, "cc_ours_fuzzy", fuzzy))
    out["splink_candidate_pair_margin"] = splink_pair_margin(con)
    out["edges"] = {"deterministic": len(deterministic), "all": len(all_edges), "ours_fuzzy_matches": len(fuzzy)}
    return out


def ours_times(path: Path | None) -> dict | None:
    if path is None:
        return None
    if not path.exists():
        raise FileNotFoundError(f"{path}: bench/identity.py --build output not found")
    data = json.loads(path.read_text())
    build = data.get("build")
    if not build:
        raise ValueError(f"{path}: no 'build' section (run bench/identity.py with --build)")
    return {
        "source": str(path),
        "dbt_build_wall_s": build["dbt_build_wall_s"], "dbt_peak_rss_mb": build["dbt_peak_rss_mb"],
        "identity_models_s": build["identity_models_s"], "tests_run": build.get("tests_run"),
        "int_identity_fuzzy_matches_s": build["model_s"].get("int_identity_fuzzy_matches"),
        "stg_crm__customers_s": build["model_s"].get("stg_crm__customers"),
        "fuzzy_pairs_compared": data.get("fuzzy_pairs_compared"), "fuzzy_matches": data.get("fuzzy_matches"),
        "all_records_accuracy": data.get("accuracy", {}).get("f1"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="built by bench/identity.py --build")
    parser.add_argument("--ground-truth", type=Path, required=True, help="the sample's ground_truth/ folder")
    parser.add_argument("--ours-json", type=Path, help="bench/identity.py --build --json output (our times)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.9, 0.99, 0.999])
    parser.add_argument("--u-max-pairs", type=float, default=5e6)
    parser.add_argument("--prior-recall", type=float, default=0.8,
                        help="assumed recall of the deterministic rules that estimate the prior match probability")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    con = duckdb.connect()
    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "nice": os.nice(0)},
                 "warehouse": str(args.warehouse), "ground_truth": str(args.ground_truth)}
    manifest = args.ground_truth / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        out["sample"] = {k: m.get(k) for k in ("size", "seed", "as_of", "persons")}
    out["rss_before_splink_mb"] = peak_rss_mb()
    out["splink"] = run_splink(con, args.warehouse, args.thresholds, args.u_max_pairs, args.prior_recall, args.seed)
    out["ours"] = ours_times(args.ours_json)
    out["crm_records_scored"] = load_truth(con, args.ground_truth)
    start = time.monotonic()
    out["accuracy"] = score_all(con, args.thresholds)
    out["scoring_s"] = round(time.monotonic() - start, 1)
    con.close()
    text = json.dumps(out, indent=2, default=str)
    print(json.dumps({k: v for k, v in out.items() if k != "splink"} | {
        "splink": {k: v for k, v in out["splink"].items() if k != "model"}}, indent=2, default=str))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
