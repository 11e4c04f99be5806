"""Helpers for the portability tests: a throwaway PostgreSQL server, the raw
layer copied out of a DuckDB warehouse, and the results every warehouse must
agree on.

The raw layer is produced once, by the project's own loader into DuckDB (so
rejects, metadata columns and `_extra` are exactly what the pipeline makes),
and then copied table by table, column types preserved, into the other
warehouse. dbt then builds the same project there.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT_BIN = Path(sys.executable).parent / "dbt"
AS_OF = "2026-11-25"

# Results compared across warehouses (each query returns sorted rows).
COMPARED_QUERIES: dict[str, str] = {
    "segment_counts": "select segment, count(*) from marts.customer_segments group by segment order by segment",
    "customer_segments": "select customer_key, segment from marts.customer_segments order by customer_key",
    "profile_counts": (
        "select customer_key, lifetime_orders, orders_30d, orders_365d, days_since_last_order, "
        "days_since_first_order, sessions_30d, page_views_30d, carts_abandoned_30d, email_opens_90d, "
        "email_clicks_90d, crm_record_count from marts.customer_profile order by customer_key"
    ),
    "profile_amounts": (
        "select customer_key, lifetime_revenue, revenue_365d, engagement_score, engagement_percentile "
        "from marts.customer_profile order by customer_key"
    ),
    "summary": "select segment, customers from marts.segment_summary order by segment",
    "identity": "select count(*), count(distinct customer_key) from restricted.customer_identifiers",
}


# Columns that record which dbt run built a row (the customer key registry's audit
# columns): they differ between any two builds, so the table comparison leaves them out.
RUN_AUDIT_COLUMNS = frozenset({"assigned_at", "first_assigned_at", "dbt_invocation_id"})
# Sums of row hashes (macro row_hash) that the fingerprint-incremental models keep
# to find changed partitions: each warehouse has its own hash function, so they
# differ by design; the counts beside them (record_versions, ...) are compared.
FINGERPRINT_COLUMNS = frozenset({"_versions_fingerprint", "_candidate_fingerprint"})

# Second build of the incremental test: the next day, so the state-carrying
# models (segment_history, int_customer_keys, full_refresh false) append to what
# the first build wrote.
NEXT_AS_OF = "2026-11-26"


class PortabilityError(RuntimeError):
    """A portability fixture could not be set up (names what is missing)."""


# --------------------------------------------------------------------------- DuckDB raw layer

def load_tiny_into_duckdb(sample: Path, home: Path) -> Path:
    """Load a generated sample's landing/ with the project's loader; return the warehouse path."""
    from dataclasses import replace

    from segmentation.config import Settings
    from segmentation.loading import load_new_files

    shutil.copytree(sample / "landing", home / "landing")
    warehouse = home / "warehouse" / "warehouse.duckdb"
    settings = replace(Settings.from_env(), home=home, landing=home / "landing", quarantine=home / "quarantine",
                       warehouse=warehouse, serving=home / "serving" / "segments.duckdb", reports=home / "reports",
                       dbt_project=DBT_PROJECT, expectations=REPO_ROOT / "expectations")
    settings.ensure_dirs()
    result = load_new_files(settings, batch_id="portability-1", settle_seconds=0)
    if result.rows_loaded == 0:
        raise PortabilityError(f"the loader loaded no rows from {sample / 'landing'}: {result.summary()}")
    return warehouse


@dataclass(frozen=True)
class RawTable:
    name: str                       # table name inside schema raw
    columns: list[tuple[str, str]]  # (column, DuckDB type)
    rows: list[tuple]


def read_raw_tables(warehouse: Path) -> list[RawTable]:
    """Every table of the raw schema, with its DuckDB column types and rows (in load order)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by table_name"
        ).fetchall()]
        tables = []
        for name in names:
            columns = [(r[0], r[1]) for r in con.execute(f'describe raw."{name}"').fetchall()]
            rows = con.execute(f'select * from raw."{name}" order by _batch_id, _file_name, _row_number').fetchall()
            tables.append(RawTable(name, columns, rows))
        return tables
    finally:
        con.close()


def model_relations(manifest: Path) -> list[str]:
    """schema.alias of every model the build materialises (tables, views, incrementals)."""
    data = json.loads(manifest.read_text())
    return sorted(f"{n['schema']}.{n['alias']}" for n in data["nodes"].values()
                  if n["resource_type"] == "model" and n["config"]["materialized"] != "ephemeral")


def canonical_rows(columns: list[str], rows: list[tuple]) -> dict:
    """A relation's content in a form every warehouse's driver gives alike: columns by name
    (run audit and fingerprint columns left out), numbers as floats rounded to 6 decimals,
    dates and timestamps as ISO text (no zone), rows sorted."""
    keep = sorted((name.lower(), i) for i, name in enumerate(columns)
                  if name.lower() not in RUN_AUDIT_COLUMNS | FINGERPRINT_COLUMNS)
    out = sorted((tuple(_canonical(row[i]) for _, i in keep) for row in rows), key=repr)
    return {"columns": [name for name, _ in keep], "rows": [list(r) for r in out]}


def _canonical(value):
    from decimal import Decimal

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 6) + 0.0
    if hasattr(value, "isoformat"):
        return (value.replace(tzinfo=None) if hasattr(value, "tzinfo") else value).isoformat()
    return str(value)


def duckdb_tables(warehouse: Path, relations: list[str]) -> dict[str, dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for relation in relations:
            cur = con.execute(f"select * from {relation}")
            out[relation] = canonical_rows([d[0] for d in cur.description], cur.fetchall())
        return out
    finally:
        con.close()


def postgres_tables(conn, relations: list[str]) -> dict[str, dict]:
    out = {}
    with conn.cursor() as cur:
        for relation in relations:
            cur.execute(f"select * from {relation}")
            out[relation] = canonical_rows([d[0] for d in cur.description], cur.fetchall())
    return out


def assert_same_tables(expected: dict[str, dict], actual: dict[str, dict], warehouse: str) -> None:
    """Every model's content equals DuckDB's (see canonical_rows); names the tables, columns and a row that differ."""
    problems = []
    for relation in sorted(set(expected) | set(actual)):
        exp, act = expected.get(relation), actual.get(relation)
        if exp is None or act is None:
            problems.append(f"{relation}: only built on {'duckdb' if act is None else warehouse}")
            continue
        if exp["columns"] != act["columns"]:
            problems.append(f"{relation}: columns differ: {sorted(set(exp['columns']) ^ set(act['columns']))}")
            continue
        if exp["rows"] != act["rows"]:
            rows_e = {json.dumps(r) for r in exp["rows"]}
            rows_a = {json.dumps(r) for r in act["rows"]}
            columns = [c for i, c in enumerate(exp["columns"])
                       if sorted(map(repr, (r[i] for r in exp["rows"]))) != sorted(map(repr, (r[i] for r in act["rows"])))]
            problems.append(f"{relation}: {len(exp['rows'])} rows on duckdb, {len(act['rows'])} on {warehouse}; "
                            f"columns that differ: {columns}; duckdb only e.g. {sorted(rows_e - rows_a)[:1]}; "
                            f"{warehouse} only e.g. {sorted(rows_a - rows_e)[:1]}")
    assert not problems, f"{warehouse} results differ from DuckDB's:\n" + "\n".join(problems)


def query_duckdb(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {key: [tuple(r) for r in con.execute(sql).fetchall()] for key, sql in COMPARED_QUERIES.items()}
    finally:
        con.close()


# --------------------------------------------------------------------------- dbt

@dataclass(frozen=True)
class DbtCommand:
    args: list[str]
    returncode: int
    output: str
    seconds: float


def run_dbt(command: str, target: str, work_dir: Path, env: dict[str, str], extra: list[str] | None = None,
            timeout: int = 900, as_of: str = AS_OF) -> DbtCommand:
    """`dbt <command> --target <target>` on the repository's project, target/ and logs/ under work_dir."""
    args = [
        str(DBT_BIN), command,
        "--project-dir", str(DBT_PROJECT),
        "--profiles-dir", str(DBT_PROJECT),
        "--target", target,
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--vars", f'{{as_of_date: "{as_of}"}}',
        *(extra or []),
    ]
    started = time.monotonic()
    proc = subprocess.run(args, cwd=REPO_ROOT, env={**os.environ, **env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
                          capture_output=True, text=True, timeout=timeout)
    return DbtCommand(args, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started)


def run_probe(target: str, work_dir: Path, env: dict[str, str]) -> list[list]:
    """cross_db_probe.py on `target` in a subprocess: header row, then one row of text values per case.

    Give it the work_dir of an earlier dbt run on the same target and env: dbt then parses partially.
    """
    out = work_dir / f"probe-{target}.json"
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("cross_db_probe.py")), "--target", target,
                           "--work", str(work_dir), "--out", str(out)],
                          cwd=REPO_ROOT, env={**os.environ, **env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"cross_db probe on {target} failed: {proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def assert_same_probe(expected: list[list], actual: list[list], warehouse: str) -> None:
    """Same columns, same value for every case and macro (text, numbers to 6 decimals)."""
    assert expected[0] == actual[0], f"{warehouse}: probe columns {actual[0]} != duckdb {expected[0]}"
    differences = [f"case {e[0]}, {col}: duckdb {ev!r}, {warehouse} {av!r}"
                   for e, a in zip(expected[1:], actual[1:]) for col, ev, av in zip(expected[0], e, a) if ev != av]
    assert len(expected) == len(actual) and not differences, "\n".join(differences)


def run_results_problems(run_results: Path) -> tuple[dict[str, int], list[str]]:
    """Counts by resource type of what ran, and every node that did not succeed / pass.

    Exposures (reported as no-op) and run hooks (operation) are not counted."""
    data = json.loads(run_results.read_text())
    counts: dict[str, int] = {}
    problems = []
    for result in data["results"]:
        kind = result["unique_id"].split(".")[0]
        if kind == "exposure" and result["status"] == "no-op":
            continue
        if kind == "operation":
            if result["status"] != "success":
                problems.append(f"{result['unique_id']}: {result['status']}: {(result.get('message') or '')[:300]}")
            continue
        counts[kind] = counts.get(kind, 0) + 1
        if result["status"] not in ("success", "pass"):
            problems.append(f"{result['unique_id']}: {result['status']}: {(result.get('message') or '')[:300]}")
    return counts, problems


def manifest_counts(manifest: Path) -> dict[str, int]:
    """How many models, seeds, data tests and unit tests the project has."""
    data = json.loads(manifest.read_text())
    counts: dict[str, int] = {}
    for uid in list(data["nodes"]) + list(data.get("unit_tests", {})):
        kind = uid.split(".")[0]
        if kind == "operation":
            continue
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def assert_same_results(expected: dict[str, list[tuple]], actual: dict[str, list[tuple]], warehouse: str) -> None:
    """Exact equality for keys, counts and segments; amounts to the cent, percentiles to 1e-9."""
    for key in ("segment_counts", "customer_segments", "profile_counts", "summary", "identity"):
        exp = [tuple(_plain(v) for v in row) for row in expected[key]]
        act = [tuple(_plain(v) for v in row) for row in actual[key]]
        if exp != act:
            diff = [(e, a) for e, a in zip(exp, act) if e != a][:5]
            raise AssertionError(f"{warehouse}: {key} differs from DuckDB ({len(exp)} vs {len(act)} rows); "
                                 f"first differences (duckdb, {warehouse}): {diff}")
    exp_amounts = expected["profile_amounts"]
    act_amounts = actual["profile_amounts"]
    assert len(exp_amounts) == len(act_amounts), f"{warehouse}: profile row count differs"
    for e, a in zip(exp_amounts, act_amounts):
        assert e[0] == a[0], f"{warehouse}: customer_key order differs: {e[0]} vs {a[0]}"
        for name, ev, av, tol in zip(("lifetime_revenue", "revenue_365d", "engagement_score", "engagement_percentile"),
                                     e[1:], a[1:], (0.005, 0.005, 0.005, 1e-9)):
            assert abs(float(ev) - float(av)) <= tol, f"{warehouse}: {name} of {e[0]}: duckdb {ev}, {warehouse} {av}"


def _plain(value):
    """Compare across drivers: Decimal/int/float as float, everything else as is."""
    from decimal import Decimal

    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    return value


# --------------------------------------------------------------------------- PostgreSQL

def postgres_bin_dir() -> Path:
    """Directory of the PostgreSQL server binaries: $SEGMENTS_PG_BIN or the newest /usr/lib/postgresql/*/bin."""
    override = os.environ.get("SEGMENTS_PG_BIN")
    candidates = [Path(override)] if override else sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise PortabilityError("PostgreSQL server binaries (initdb, pg_ctl) not found in "
                           f"{override or '/usr/lib/postgresql/*/bin'}: run `make portability-deps` "
                           "(installs Debian's postgresql) or set SEGMENTS_PG_BIN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1:<free port>, trust auth.

    PostgreSQL refuses to run as root: under root the cluster runs as the
    unprivileged OS user `nobody` (override with SEGMENTS_PG_OS_USER), which
    owns the temporary directory. The unix socket lives in that directory too.
    """

    user: str = "segments"
    database: str = "segments"
    port: int = 0
    root: Path | None = None
    os_user: str | None = None
    bin_dir: Path | None = None

    def start(self) -> "ThrowawayPostgres":
        self.bin_dir = postgres_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="segments-pg-"))
        if os.geteuid() == 0:
            self.os_user = os.environ.get("SEGMENTS_PG_OS_USER", "nobody")
            shutil.chown(self.root, user=self.os_user)
        self.root.chmod(0o700)
        self.port = free_port()
        data = self.root / "data"
        self._run([self.bin_dir / "initdb", "-D", data, "-U", self.user, "--auth=trust", "--no-sync",
                   "--encoding=UTF8", "--locale=C", "--lc-ctype=C.UTF-8"])
        # fsync off: a throwaway test cluster. C collation: byte order, like DuckDB and Spark;
        # C.UTF-8 character classes: lower()/upper() of non-ASCII letters (Ö -> ö), as DuckDB and Spark do
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c TimeZone=UTC")
        self._run([self.bin_dir / "pg_ctl", "-D", data, "-l", self.root / "server.log", "-w", "-t", "60",
                   "-o", options, "start"])
        self._run([self.bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                   self.database])
        # segments.levenshtein (macros/cross_db/functions.sql) needs it on PostgreSQL
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("create extension if not exists fuzzystrmatch")
            conn.commit()
        finally:
            conn.close()
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                self._run([self.bin_dir / "pg_ctl", "-D", self.root / "data", "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def log_tail(self, lines: int = 40) -> str:
        log = self.root / "server.log" if self.root else None
        return "\n".join(log.read_text().splitlines()[-lines:]) if log and log.exists() else ""

    def _run(self, args: list) -> None:
        proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120,
                              user=self.os_user, cwd=self.root)
        if proc.returncode != 0:
            raise PortabilityError(f"{Path(str(args[0])).name} failed ({proc.returncode}): "
                                   f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}\n{self.log_tail()}")

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=self.database)

    def dbt_env(self) -> dict[str, str]:
        return {"SEGMENTS_PG_HOST": "127.0.0.1", "SEGMENTS_PG_PORT": str(self.port), "SEGMENTS_PG_USER": self.user,
                "SEGMENTS_PG_PASSWORD": "", "SEGMENTS_PG_DATABASE": self.database, "SEGMENTS_PG_SCHEMA": "public"}


POSTGRES_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "TIMESTAMP": "timestamp",
                  "BOOLEAN": "boolean", "DOUBLE": "double precision", "DATE": "date"}


def copy_raw_to_postgres(tables: list[RawTable], conn) -> dict[str, int]:
    """Create raw.<table> with the same columns (types mapped) and COPY the rows in. Returns row counts."""
    import io

    counts = {}
    with conn.cursor() as cur:
        cur.execute("create schema if not exists raw")
        for table in tables:
            try:
                cols = ", ".join(f'"{c}" {POSTGRES_TYPES[t]}' for c, t in table.columns)
            except KeyError as exc:
                raise PortabilityError(f"raw.{table.name}: no PostgreSQL type for DuckDB type {exc}") from exc
            cur.execute(f'drop table if exists raw."{table.name}"')
            cur.execute(f'create table raw."{table.name}" ({cols})')
            buf = io.StringIO()
            for row in table.rows:
                buf.write("\t".join(_copy_text(v) for v in row) + "\n")
            buf.seek(0)
            cur.copy_expert(f'copy raw."{table.name}" from stdin (format text)', buf)
            counts[table.name] = len(table.rows)
    conn.commit()
    return counts


def _copy_text(value) -> str:
    """One value in COPY's text format (\\N is null; backslash, tab, newline escaped)."""
    if value is None:
        return "\\N"
    text = value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def query_postgres(conn) -> dict[str, list[tuple]]:
    out = {}
    with conn.cursor() as cur:
        for key, sql in COMPARED_QUERIES.items():
            cur.execute(sql)
            out[key] = [tuple(r) for r in cur.fetchall()]
    return out


# --------------------------------------------------------------------------- Java / Spark

def java_version() -> str | None:
    """`java -version`'s first line, or None when no Java runtime is on PATH / JAVA_HOME."""
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    proc = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    return (proc.stderr or proc.stdout).splitlines()[0] if proc.returncode == 0 else None


