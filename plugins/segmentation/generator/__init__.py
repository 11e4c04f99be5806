"""Deterministic sample extracts (CRM, web events, order lines) plus the ground truth behind them.

``generate(size, seed, as_of, out)`` writes
``out/landing/{crm,events,orders}/<prefix>_<as_of>_partNNNN.<ext>`` following
``segmentation.contracts`` and ``out/ground_truth/`` (persons.csv, records.csv,
crm_duplicates.csv, manifest.json). The same (size, seed, as_of) always gives
byte-identical files: every random draw comes from numpy's PCG64 seeded from
``seed`` and the part number; nothing depends on time or hash order.

Persons are generated in parts of a bounded size, so the large tier (a million
customers, ~50M events) runs in bounded memory. Files are written under a
temporary name in their folder and renamed into place when complete.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from segmentation.contracts import CRM, EVENTS, ORDERS, Source
from segmentation.errors import ConfigError
from segmentation.generator.activity import build_activity, make_catalog
from segmentation.generator.people import DUP_KINDS, SEGMENTS, crm_part, draw_persons
from segmentation.generator.render import (
    day_number, file_sha256, padded_ids, pick, with_nulls, write_csv_atomic, write_jsonl_atomic,
)

__all__ = ["SIZES", "GeneratedFile", "GenerationReport", "SizeSpec", "generate"]

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SizeSpec:
    persons: int               # ground-truth persons (CRM customers ~ 0.99 x persons incl. duplicates)
    persons_per_part: int      # bounds memory: one part of each extract per chunk of persons
    visitors_per_person: float  # anonymous visitors who never log in


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(persons=400, persons_per_part=400, visitors_per_person=0.5),
    "small": SizeSpec(persons=10_000, persons_per_part=10_000, visitors_per_person=0.5),
    "large": SizeSpec(persons=1_000_000, persons_per_part=25_000, visitors_per_person=0.5),
}


@dataclass(frozen=True)
class GeneratedFile:
    path: str    # relative to out
    rows: int
    sha256: str


@dataclass
class GenerationReport:
    size: str
    seed: int
    as_of: date
    out: Path
    skipped: bool
    persons: int
    rows: dict[str, int]
    files: list[GeneratedFile] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.skipped:
            return f"sample {self.size}/seed {self.seed}/{self.as_of} already in {self.out}: nothing to do"
        counts = ", ".join(f"{k} {v:,}" for k, v in self.rows.items())
        return (f"generated {self.size} sample (seed {self.seed}, as of {self.as_of}) in {self.seconds:.1f} s: "
                f"{self.persons:,} persons; {counts}; {len(self.files)} files under {self.out}")


def generate(size: str, seed: int, as_of: date, out: Path, if_missing: bool = False,
             progress: bool = False) -> GenerationReport:
    """Write the sample extracts and ground truth for (size, seed, as_of) under out."""
    if size not in SIZES:
        raise ConfigError(f"generator: unknown size {size!r}; choose one of {', '.join(SIZES)} [rule: size]")
    spec, out, started = SIZES[size], Path(out), time.perf_counter()
    manifest_path = out / "ground_truth" / "manifest.json"
    if if_missing:
        existing = _matching_manifest(manifest_path, size, seed, as_of)
        if existing is not None:
            report = GenerationReport(size, seed, as_of, out, True, existing["persons"], existing["rows"],
                                      [GeneratedFile(**f) for f in existing["files"]], time.perf_counter() - started)
            log.info(report.summary())
            return report

    for source in (CRM, EVENTS, ORDERS):
        (out / "landing" / source.name).mkdir(parents=True, exist_ok=True)
    (out / "ground_truth").mkdir(parents=True, exist_ok=True)
    if manifest_path.exists():
        manifest_path.unlink()  # the manifest marks a complete sample; it is written last

    n_parts = math.ceil(spec.persons / spec.persons_per_part)
    seeds = np.random.SeedSequence(seed).spawn(n_parts + 1)
    catalog = make_catalog(np.random.Generator(np.random.PCG64(seeds[0])))
    as_of_day = day_number(as_of)
    files: list[GeneratedFile] = []
    rows = {"crm": 0, "events": 0, "orders": 0}
    updates: list[pa.Table] = []

    with ExitStack() as stack:
        truth = _TruthWriter(out / "ground_truth")
        stack.callback(truth.abort)
        bar = _progress_bar(stack, progress, n_parts + 1, size)
        for part in range(1, n_parts + 1):
            rng = np.random.Generator(np.random.PCG64(seeds[part]))
            start = (part - 1) * spec.persons_per_part
            n = min(spec.persons_per_part, spec.persons - start)
            persons = draw_persons(rng, start, n)
            act = build_activity(rng, persons, catalog, as_of_day, part, spec.visitors_per_person)
            crm = crm_part(rng, persons, act.first_activity_ago, spec.persons, as_of_day)
            files.append(_write(out, CRM, as_of, part, crm.records))
            files.append(_write(out, EVENTS, as_of, part, act.events))
            files.append(_write(out, ORDERS, as_of, part, act.order_lines))
            rows["crm"] += crm.records.num_rows
            rows["events"] += act.events.num_rows
            rows["orders"] += act.order_lines.num_rows
            updates.append(crm.updates)
            truth.add(persons, act, crm)
            _tick(bar, f"part {part}/{n_parts}: {n:,} persons, {act.order_lines.num_rows:,} order lines, "
                       f"{act.events.num_rows:,} events", progress)
        update_table = pa.concat_tables(updates)
        files.append(_write(out, CRM, as_of, n_parts + 1, update_table))
        rows["crm"] += update_table.num_rows
        _tick(bar, f"part {n_parts + 1}: {update_table.num_rows:,} updated CRM records", progress)
        stack.pop_all()
        files.extend(truth.finish(out))

    _remove_stale_parts(out, as_of, {f.path for f in files})
    manifest = {"format_version": FORMAT_VERSION, "size": size, "seed": seed, "as_of": as_of.isoformat(),
                "persons": spec.persons, "rows": rows, "files": [asdict(f) for f in files]}
    tmp = manifest_path.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, manifest_path)
    report = GenerationReport(size, seed, as_of, out, False, spec.persons, rows, files, time.perf_counter() - started)
    log.info(report.summary())
    return report


def _matching_manifest(path: Path, size: str, seed: int, as_of: date) -> dict | None:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = (manifest.get("format_version") == FORMAT_VERSION and manifest.get("size") == size
            and manifest.get("seed") == seed and manifest.get("as_of") == as_of.isoformat())
    return manifest if same else None


def _file_name(source: Source, as_of: date, part: int) -> str:
    ext = "jsonl" if source.default_format == "jsonl" else "csv"
    return f"{source.file_prefix}_{as_of.isoformat()}_part{part:04d}.{ext}"


def _write(out: Path, source: Source, as_of: date, part: int, table: pa.Table) -> GeneratedFile:
    if table.column_names != source.column_names:
        raise ConfigError(f"generator: {source.name} columns {table.column_names} differ from the contract [rule: contract]")
    path = out / "landing" / source.name / _file_name(source, as_of, part)
    writer = write_jsonl_atomic if source.default_format == "jsonl" else write_csv_atomic
    digest = writer(table, path)
    return GeneratedFile(str(path.relative_to(out)), table.num_rows, digest)


def _remove_stale_parts(out: Path, as_of: date, keep: set[str]) -> None:
    """Parts of an earlier sample for the same date (e.g. a larger size) would mix with this one."""
    for source in (CRM, EVENTS, ORDERS):
        folder = out / "landing" / source.name
        for path in sorted(folder.glob(f"{source.file_prefix}_{as_of.isoformat()}_part*")):
            if str(path.relative_to(out)) not in keep:
                log.warning("removing %s: part of an earlier sample for %s", path, as_of)
                path.unlink()


def _progress_bar(stack: ExitStack, progress: bool, total: int, size: str):
    if not progress:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = stack.enter_context(Progress(TextColumn("generate {task.fields[size]}"), BarColumn(),
                                       TextColumn("{task.completed}/{task.total} parts"), TimeElapsedColumn(),
                                       TextColumn("{task.description}"), transient=False))
    bar.add_task("", total=total, size=size)
    return bar


def _tick(bar, message: str, progress: bool) -> None:
    log.log(logging.INFO if progress else logging.DEBUG, message)
    if bar is not None:
        task = bar.task_ids[0]
        bar.update(task, advance=1, description=message)


def _join_present(a: pa.Array, b: pa.Array) -> pa.Array:
    """'a;b' skipping missing values (empty when both are missing)."""
    joined = pc.binary_join_element_wise(a, b, ";", null_handling="replace", null_replacement="")
    return pc.utf8_trim(joined, ";")


class _TruthWriter:
    """Streams persons.csv, records.csv and crm_duplicates.csv part by part (bounded memory)."""

    SCHEMAS = {
        "persons.csv": ("person_id", "expected_segment", "primary_crm_id", "crm_ids", "emails", "is_guest",
                        "tracking_consent", "email_opt_in"),
        "records.csv": ("source", "record_key", "person_id"),
        "crm_duplicates.csv": ("person_id", "crm_id", "duplicate_crm_id", "match_kind"),
    }

    def __init__(self, folder: Path):
        self.folder = folder
        self.rows = {name: 0 for name in self.SCHEMAS}
        self.writers = {}
        for name, cols in self.SCHEMAS.items():
            schema = pa.schema([(c, pa.string()) for c in cols])
            self.writers[name] = pacsv.CSVWriter(str(self._tmp(name)), schema,
                                                 write_options=pacsv.WriteOptions(quoting_style="needed"))

    def _tmp(self, name: str) -> Path:
        return self.folder / f".{name}.tmp"

    def _put(self, name: str, columns: dict[str, pa.Array]) -> None:
        table = pa.table(columns)
        self.writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def add(self, p, act, crm) -> None:
        person_id = padded_ids("P-", p.gidx + 1, 8)
        dup_id = [None] * p.n
        dup_email = [None] * p.n
        for k, local in enumerate(crm.dup_person):
            dup_id[local] = crm.dup_crm_id[k]
            if crm.dup_email[k] != p.email[local].as_py():
                dup_email[local] = crm.dup_email[k]
        primary_email = with_nulls(p.email, p.email_missing_in_crm)
        as_bool = lambda a: pick(("false", "true"), np.asarray(a, dtype=np.int64))  # noqa: E731
        self._put("persons.csv", {
            "person_id": person_id,
            "expected_segment": pick(SEGMENTS, p.segment),
            "primary_crm_id": p.crm_id,
            "crm_ids": _join_present(p.crm_id, pa.array(dup_id, pa.string())),
            "emails": _join_present(primary_email, pa.array(dup_email, pa.string())),
            "is_guest": as_bool(p.is_guest),
            "tracking_consent": as_bool(p.tracking_consent),
            "email_opt_in": as_bool(crm.final_email_opt_in & ~p.is_guest),
        })
        crm_people = np.flatnonzero(~p.is_guest)
        used = np.flatnonzero(act.cookie_in_events)
        keys = pa.concat_arrays([p.crm_id.take(pa.array(crm_people)), pa.array(crm.dup_crm_id, pa.string()),
                                 act.order_ids, p.cookie.take(pa.array(used))])
        owners = np.concatenate([crm_people, crm.dup_person, act.order_owner, used]).astype(np.int64)
        sources = np.repeat([0, 0, 1, 2], [len(crm_people), len(crm.dup_person), len(act.order_ids), len(used)])
        self._put("records.csv", {"source": pick(("crm", "orders", "events"), sources), "record_key": keys,
                                  "person_id": person_id.take(pa.array(owners))})
        self._put("crm_duplicates.csv", {
            "person_id": person_id.take(pa.array(crm.dup_person, pa.int64())),
            "crm_id": p.crm_id.take(pa.array(crm.dup_person, pa.int64())),
            "duplicate_crm_id": pa.array(crm.dup_crm_id, pa.string()),
            "match_kind": pick(DUP_KINDS, crm.dup_kind),
        })

    def finish(self, out: Path) -> list[GeneratedFile]:
        files = []
        for name, writer in self.writers.items():
            writer.close()
            final = self.folder / name
            digest = file_sha256(self._tmp(name))
            os.replace(self._tmp(name), final)
            files.append(GeneratedFile(str(final.relative_to(out)), self.rows[name], digest))
        self.writers = {}
        return files

    def abort(self) -> None:
        for name, writer in self.writers.items():
            writer.close()
            self._tmp(name).unlink(missing_ok=True)
