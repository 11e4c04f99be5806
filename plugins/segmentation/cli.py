"""`segments` command line: thin wrappers over the package's functions.

Every sub-command turns a ``SegmentsError`` into one clear line on stderr and
exit status 2. Imports are lazy so `segments --help` is instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from segmentation.config import Settings
from segmentation.errors import SegmentsError


def _cmd_generate(args: argparse.Namespace) -> int:
    from segmentation.generator import generate

    out = Path(args.out) if args.out else Settings.from_env().home
    generate(size=args.size, seed=args.seed, as_of=date.fromisoformat(args.as_of), out=out,
             if_missing=args.if_missing, progress=True)
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    from segmentation.loading import load_new_files

    report = load_new_files(Settings.from_env(), batch_id=args.batch_id)
    print(report.summary())
    return 0


def _cmd_requeue(args: argparse.Namespace) -> int:
    from segmentation.loading import requeue

    for path in requeue(Settings.from_env(), args.names):
        print(f"re-queued {path}")
    return 0


def _cmd_gate(args: argparse.Namespace) -> int:
    from segmentation.quality import run_gate

    result = run_gate(Settings.from_env(), args.gate, run_id=args.run_id, batch_id=args.batch_id)
    print(result.summary())
    return 0 if result.success else 1


def _cmd_publish(args: argparse.Namespace) -> int:
    from segmentation.publishing import publish

    pub = publish(Settings.from_env(), run_id=args.run_id)
    print(f"published {pub.path} (sha256 {pub.sha256[:12]}…)")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from segmentation.publishing import print_summary

    print_summary(Settings.from_env())
    return 0


def _cmd_rules_check(args: argparse.Namespace) -> int:
    from segmentation.rules import check_rules, check_tags

    project = Path(args.project_dir) if args.project_dir else Settings.from_env().dbt_project
    rules = check_rules(project)
    print(f"OK: {len(rules)} segment rules in {project / 'dbt_project.yml'} are valid (first match wins):")
    for rule in rules:
        print(f"  {rule.priority:>3}  {rule.name:<16} {rule.when}")
    tags = check_tags(project)
    print(f"OK: {len(tags)} tags are valid (every tag that holds applies):")
    for tag in tags:
        print(f"  {tag.priority:>3}  {tag.name:<16} {tag.when}")
    return 0


def _cmd_preview(args: argparse.Namespace) -> int:
    from segmentation.preview import preview_rules

    settings = Settings.from_env()
    project = Path(args.project_dir) if args.project_dir else settings.dbt_project
    result = preview_rules(settings.serving, project, Path(args.rules) if args.rules else None)
    print(result.format(top=args.top))
    return 0


def _cmd_segments_validate(args: argparse.Namespace) -> int:
    from segmentation.validation import validate_segments

    result = validate_segments(Settings.from_env(), run_id=args.run_id, record=not args.dry_run)
    print(result.summary())
    return 1 if args.strict and result.failed else 0


def _cmd_segments_alerts(args: argparse.Namespace) -> int:
    from segmentation.alerts import check_segment_alerts

    print(check_segment_alerts(Settings.from_env(), run_id=args.run_id).summary())
    return 0


def _cmd_segments_report(args: argparse.Namespace) -> int:
    from segmentation.segment_report import build_report

    settings = Settings.from_env()
    path = build_report(settings, run_id=args.run_id)
    print(f"segment report: {path} (also {settings.reports / 'latest.html'})")
    return 0


def _cmd_airflow_init(args: argparse.Namespace) -> int:
    from segmentation.airflow_setup import init_airflow

    init_airflow()
    return 0


def _cmd_run_dag(args: argparse.Namespace) -> int:
    from segmentation.airflow_setup import run_dag

    return run_dag(args.dag_id, logical_date=args.logical_date)


def _cmd_export_audiences(args: argparse.Namespace) -> int:
    from segmentation.audiences import export_audiences

    export = export_audiences(Settings.from_env(), run_id=args.run_id,
                              share=args.holdout_share)
    print(export.summary())
    return 0


def _cmd_erase(args: argparse.Namespace) -> int:
    from segmentation.erasure import erase, parse_requests, read_requests_file

    requests = parse_requests([{"email": v} for v in args.email] + [{"phone": v} for v in args.phone]
                              + [{"customer_key": v} for v in args.customer_key], "command line")
    if args.file:
        requests += read_requests_file(Path(args.file))
    if args.request_id:
        from dataclasses import replace

        requests = [replace(r, request_id=args.request_id) for r in requests]
    result = erase(Settings.from_env(), requests, compact=not args.no_compact)
    print(result.summary())
    return 0


def _cmd_retention(args: argparse.Namespace) -> int:
    from segmentation.privacy import enforce_retention

    print(enforce_retention(Settings.from_env(), days=args.days).summary())
    return 0


def _cmd_init_salt(args: argparse.Namespace) -> int:
    import os

    from segmentation.privacy import SALT_ENV, SALT_FILE_ENV, get_salt, write_salt_file

    if get_salt() and not args.file:
        print("a PII salt is already configured")
        return 0
    target = Path(args.file or os.environ.get(SALT_FILE_ENV) or Settings.from_env().home / "secrets" / "pii_salt")
    created = write_salt_file(target)
    print(f"{'created' if created else 'kept'} {target}; point {SALT_FILE_ENV} at it (or set {SALT_ENV})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="segments", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a deterministic sample of raw extracts plus ground truth")
    g.add_argument("--size", choices=["tiny", "small", "large"], default="small")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--as-of", default="2026-11-25", help="last day covered by the extracts (YYYY-MM-DD)")
    g.add_argument("--out", help="data root (default: $SEGMENTS_HOME); writes landing/ and ground_truth/")
    g.add_argument("--if-missing", action="store_true", help="do nothing if this sample already exists")
    g.set_defaults(func=_cmd_generate)

    ld = sub.add_parser("load", help="load every landed file not loaded before")
    ld.add_argument("--batch-id", default=None)
    ld.set_defaults(func=_cmd_load)

    rq = sub.add_parser("requeue", help="move quarantined files back to landing after a fix")
    rq.add_argument("names", nargs="*", help="quarantined file names (default: all)")
    rq.set_defaults(func=_cmd_requeue)

    gt = sub.add_parser("gate", help="run a Great Expectations quality gate")
    gt.add_argument("gate", choices=["raw", "marts"])
    gt.add_argument("--run-id", default="manual")
    gt.add_argument("--batch-id", default=None)
    gt.set_defaults(func=_cmd_gate)

    pb = sub.add_parser("publish", help="publish the BI-facing tables to the serving database")
    pb.add_argument("--run-id", default="manual")
    pb.set_defaults(func=_cmd_publish)

    sm = sub.add_parser("summary", help="print the published segments")
    sm.set_defaults(func=_cmd_summary)

    rc = sub.add_parser("rules-check", help="validate the segment rules in dbt_project.yml before dbt runs")
    rc.add_argument("--project-dir", default=None, help="dbt project directory (default: $SEGMENTS_DBT_PROJECT)")
    rc.set_defaults(func=_cmd_rules_check)

    pv = sub.add_parser("preview", help="show who would change segment under edited rules (writes nothing)")
    pv.add_argument("--rules", default=None, help="YAML file with vars.segment_rules (default: dbt_project.yml)")
    pv.add_argument("--project-dir", default=None, help="dbt project directory (default: $SEGMENTS_DBT_PROJECT)")
    pv.add_argument("--top", type=int, default=10, help="how many transitions to list")
    pv.set_defaults(func=_cmd_preview)

    sv = sub.add_parser("validate", help="do segments differ on their KPIs? (Kruskal-Wallis, chi-square)")
    sv.add_argument("--run-id", default="manual", help="run id the results are recorded under")
    sv.add_argument("--dry-run", action="store_true", help="print only; record nothing in meta.*")
    sv.add_argument("--strict", action="store_true", help="exit 1 when a KPI test fails")
    sv.set_defaults(func=_cmd_segments_validate)
    sa = sub.add_parser("alerts", help="compare segment sizes with the last published run; alert on jumps")
    sa.add_argument("--run-id", default="manual")
    sa.set_defaults(func=_cmd_segments_alerts)
    sr = sub.add_parser("report", help="write the HTML segment report (reports/segments_<as-of>.html)")
    sr.add_argument("--run-id", default=None, help="run whose validation to show (default: the latest)")
    sr.set_defaults(func=_cmd_segments_report)

    ai = sub.add_parser("airflow-init", help="create the Airflow metadata DB and the duckdb_writer pool")
    ai.set_defaults(func=_cmd_airflow_init)

    ea = sub.add_parser("export-audiences", help="write consent-aware audiences per segment and channel, with deltas")
    ea.add_argument("--run-id", default="manual")
    ea.add_argument("--holdout-share", type=float, default=None, help="default: $SEGMENTS_HOLDOUT_SHARE or 0.1")
    ea.set_defaults(func=_cmd_export_audiences)

    er = sub.add_parser("erase", help="GDPR erasure: remove people from every layer and suppress them (docs/privacy.md)")
    er.add_argument("--email", action="append", default=[])
    er.add_argument("--phone", action="append", default=[])
    er.add_argument("--customer-key", action="append", default=[])
    er.add_argument("--file", default=None, help="JSON list or CSV (kind,value[,request_id]) of requests")
    er.add_argument("--request-id", default=None, help="request id for the audit (default: generated)")
    er.add_argument("--no-compact", action="store_true", help="skip rewriting the warehouse file (faster)")
    er.set_defaults(func=_cmd_erase)

    rt = sub.add_parser("enforce-retention", help="delete raw rows and landed files older than the retention period")
    rt.add_argument("--days", type=int, default=None, help="default: $SEGMENTS_RAW_RETENTION_DAYS or 1095")
    rt.set_defaults(func=_cmd_retention)

    sl = sub.add_parser("init-salt", help="create a random PII salt file for local runs (never commit it)")
    sl.add_argument("--file", default=None, help="default: $SEGMENTS_PII_SALT_FILE or $SEGMENTS_HOME/secrets/pii_salt")
    sl.set_defaults(func=_cmd_init_salt)

    rd = sub.add_parser("run-dag", help="run a DAG once, in process (airflow dags test)")
    rd.add_argument("--dag-id", default="customer_segments")
    rd.add_argument("--logical-date", required=True)
    rd.set_defaults(func=_cmd_run_dag)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except SegmentsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
