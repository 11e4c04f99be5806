"""Segment size-jump alerts: tell someone when a segment moves a lot between runs.

After a run is published, :func:`check_segment_alerts` compares each
segment's size with the last published run. When it moved by more than
``alert_max_size_change`` (a fraction of its previous size, e.g. 0.25 = 25 %;
``vars.segment_monitoring`` in dbt_project.yml) the run raises an alert:

- always: a WARNING line per segment in the task log;
- when ``SEGMENTS_ALERT_WEBHOOK`` is set: one JSON POST to that URL (``text``
  for chat tools, plus the structured ``alerts``);
- when ``SEGMENTS_ALERT_EMAIL_TO`` is set: one email through SMTP
  (``SEGMENTS_SMTP_HOST``/``_PORT``/``_USER``/``_PASSWORD``/``_STARTTLS``,
  falling back to Airflow's ``AIRFLOW__SMTP__*`` settings).

Every alert is kept in ``meta.segment_alerts`` with how it was delivered. A
delivery failure is logged and recorded, and does not fail the run (the
publication already happened; the log line is always there).

The baseline ("last published run") is, in this order: this module's own
record of published sizes (``meta.segment_size_snapshots``, one row per
segment per published run, written here), else the previous as-of date in
``marts.segment_size_history`` when that mart exists. Without either there is
nothing to compare with and no alert.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from email.message import EmailMessage

import duckdb

from segmentation.config import Settings
from segmentation.errors import ConfigError, SegmentsError
from segmentation.inprocess import release_inprocess_dbt
from segmentation.monitoring import MonitoringConfig, current_as_of, table_exists

log = logging.getLogger(__name__)

WEBHOOK_ENV = "SEGMENTS_ALERT_WEBHOOK"
EMAIL_TO_ENV = "SEGMENTS_ALERT_EMAIL_TO"

SNAPSHOT_DDL = """
create table if not exists meta.segment_size_snapshots (
    run_id varchar not null,
    as_of_date date,
    recorded_at timestamp not null,
    segment varchar not null,
    customers bigint not null,
    share double not null
)
"""
ALERTS_DDL = """
create table if not exists meta.segment_alerts (
    run_id varchar not null,
    as_of_date date,
    raised_at timestamp not null,
    segment varchar not null,
    baseline_source varchar not null,
    baseline_run_id varchar,
    baseline_as_of_date date,
    previous_customers bigint not null,
    customers bigint not null,
    relative_change double,
    threshold double not null,
    message varchar not null,
    delivered_to varchar not null,
    delivery_status varchar not null
)
"""


@dataclass(frozen=True)
class Baseline:
    source: str  # meta.segment_size_snapshots | marts.segment_size_history
    run_id: str | None
    as_of_date: date | None
    sizes: dict[str, int]


@dataclass(frozen=True)
class SizeAlert:
    segment: str
    previous_customers: int
    customers: int
    relative_change: float | None  # None: the segment is new (no customers before)
    threshold: float

    @property
    def message(self) -> str:
        if self.relative_change is None:
            return (f"segment {self.segment!r} appeared: 0 -> {self.customers:,} customers "
                    f"(alert threshold {self.threshold:.0%})")
        verb = "grew" if self.customers > self.previous_customers else "shrank"
        return (f"segment {self.segment!r} {verb} {abs(self.relative_change):.0%}: "
                f"{self.previous_customers:,} -> {self.customers:,} customers (alert threshold {self.threshold:.0%})")


@dataclass
class AlertCheck:
    run_id: str
    as_of_date: date | None
    baseline: Baseline | None
    alerts: list[SizeAlert]
    delivered_to: list[str]
    delivery_status: list[str]

    def summary(self) -> str:
        if self.baseline is None:
            return f"segment size alerts (run {self.run_id}): no earlier published run to compare with"
        head = (f"segment size alerts (run {self.run_id}, as of {self.as_of_date}) vs "
                f"{self.baseline.run_id or self.baseline.as_of_date} ({self.baseline.source}): ")
        if not self.alerts:
            return head + "no segment moved beyond the threshold"
        lines = [head + f"{len(self.alerts)} alert(s), delivered to {', '.join(self.delivered_to)}"]
        lines += [f"  {a.message}" for a in self.alerts]
        lines += [f"  delivery: {s}" for s in self.delivery_status]
        return "\n".join(lines)


# --------------------------------------------------------------------------- comparison


def size_alerts(previous: dict[str, int], current: dict[str, int], config: MonitoringConfig) -> list[SizeAlert]:
    """Segments whose size moved by more than ``config.alert_max_size_change`` (relative to before).

    Segments below ``alert_min_customers`` in both runs are ignored (a segment
    of 4 growing to 6 is noise, not news). A segment that vanished is a -100 %
    change; one that appeared has no relative change and alerts when large enough.
    """
    alerts = []
    for segment in sorted(set(previous) | set(current)):
        before, now = previous.get(segment, 0), current.get(segment, 0)
        if max(before, now) < config.alert_min_customers:
            continue
        change = None if before == 0 else (now - before) / before
        if change is None or abs(change) > config.alert_max_size_change:
            alerts.append(SizeAlert(segment, before, now, change, config.alert_max_size_change))
    return alerts


def _current_sizes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    if table_exists(con, "marts.segment_summary"):
        rows = con.execute("select segment, customers from marts.segment_summary").fetchall()
    else:
        rows = con.execute("select segment, count(*) from marts.customer_segments group by 1").fetchall()
    return {s: int(n) for s, n in rows if s is not None}


def find_baseline(con: duckdb.DuckDBPyConnection, run_id: str, as_of: date | None) -> Baseline | None:
    """Sizes of the last published run before ``run_id`` (see module docstring for the order)."""
    if table_exists(con, "meta.segment_size_snapshots"):
        published = table_exists(con, "meta.publications")
        row = con.execute(
            "select run_id, as_of_date from meta.segment_size_snapshots where run_id <> ? "
            + ("and run_id in (select run_id from meta.publications) " if published else "")
            + "order by recorded_at desc limit 1",
            [run_id],
        ).fetchone()
        if row:
            sizes = dict(con.execute("select segment, customers from meta.segment_size_snapshots where run_id = ?",
                                     [row[0]]).fetchall())
            return Baseline("meta.segment_size_snapshots", row[0], row[1], {s: int(n) for s, n in sizes.items()})
    if as_of is not None and table_exists(con, "marts.segment_size_history"):
        prev = con.execute("select max(as_of_date) from marts.segment_size_history where as_of_date < ?",
                           [as_of]).fetchone()[0]
        if prev is not None:
            sizes = dict(con.execute("select segment, customers from marts.segment_size_history "
                                     "where as_of_date = ?", [prev]).fetchall())
            return Baseline("marts.segment_size_history", None, prev, {s: int(n) for s, n in sizes.items()})
    return None


def _record_snapshot(con, run_id: str, as_of, sizes: dict[str, int], now: datetime) -> None:
    con.execute(SNAPSHOT_DDL)
    total = sum(sizes.values()) or 1
    con.execute("delete from meta.segment_size_snapshots where run_id = ?", [run_id])
    if sizes:
        con.executemany("insert into meta.segment_size_snapshots values (?, ?, ?, ?, ?, ?)",
                        [[run_id, as_of, now, s, n, n / total] for s, n in sizes.items()])


def _record_alerts(con, check: AlertCheck, now: datetime) -> None:
    con.execute(ALERTS_DDL)
    con.execute("delete from meta.segment_alerts where run_id = ?", [check.run_id])
    b = check.baseline
    if check.alerts and b is not None:
        con.executemany(
            "insert into meta.segment_alerts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[check.run_id, check.as_of_date, now, a.segment, b.source, b.run_id, b.as_of_date,
              a.previous_customers, a.customers, a.relative_change, a.threshold, a.message,
              ", ".join(check.delivered_to), "; ".join(check.delivery_status)] for a in check.alerts],
        )


# --------------------------------------------------------------------------- delivery


def _payload(check: AlertCheck) -> dict:
    return {
        "text": check.summary(),
        "run_id": check.run_id,
        "as_of_date": str(check.as_of_date) if check.as_of_date else None,
        "baseline": {"source": check.baseline.source, "run_id": check.baseline.run_id,
                     "as_of_date": str(check.baseline.as_of_date) if check.baseline.as_of_date else None}
        if check.baseline else None,
        "alerts": [asdict(a) | {"message": a.message} for a in check.alerts],
    }


def post_webhook(url: str, payload: dict, timeout: float = 10.0) -> str:
    """POST ``payload`` as JSON; returns a status line (never raises on HTTP/network errors)."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{WEBHOOK_ENV}: must be an http:// or https:// URL, got {url!r}")
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "warehouse-segments-alerts"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            return f"webhook: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"webhook failed: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"webhook failed: {getattr(exc, 'reason', exc)}"


def send_email(to: str, subject: str, body: str, environ: dict[str, str] | None = None) -> str:
    """Send one plain-text email; SMTP settings from SEGMENTS_SMTP_* or Airflow's AIRFLOW__SMTP__*."""
    env = os.environ if environ is None else environ

    def setting(name: str, airflow: str, default: str = "") -> str:
        return env.get(f"SEGMENTS_SMTP_{name}") or env.get(f"AIRFLOW__SMTP__{airflow}") or default

    host = setting("HOST", "SMTP_HOST", "localhost")
    port_text = setting("PORT", "SMTP_PORT", "25")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"SEGMENTS_SMTP_PORT: must be a number, got {port_text!r}") from None
    sender = env.get("SEGMENTS_ALERT_EMAIL_FROM") or env.get("AIRFLOW__SMTP__SMTP_MAIL_FROM") or "segments@localhost"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=20) as smtp:
            if setting("STARTTLS", "SMTP_STARTTLS", "").lower() in ("1", "true", "yes"):
                smtp.starttls()
            user = setting("USER", "SMTP_USER")
            if user:
                smtp.login(user, setting("PASSWORD", "SMTP_PASSWORD"))
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        return f"email failed: {exc}"
    return f"email: sent to {to}"


def deliver(check: AlertCheck, environ: dict[str, str] | None = None) -> None:
    """Log every alert; post / mail them where configured. Fills ``delivered_to`` / ``delivery_status``."""
    env = os.environ if environ is None else environ
    for alert in check.alerts:
        log.warning("SEGMENT SIZE ALERT (run %s): %s", check.run_id, alert.message)
    check.delivered_to, check.delivery_status = ["log"], []
    if not check.alerts:
        return
    url = env.get(WEBHOOK_ENV, "").strip()
    if url:
        check.delivered_to.append("webhook")
        check.delivery_status.append(post_webhook(url, _payload(check)))
    to = env.get(EMAIL_TO_ENV, "").strip()
    if to:
        check.delivered_to.append("email")
        subject = f"[segments] {len(check.alerts)} segment size alert(s), as of {check.as_of_date}"
        check.delivery_status.append(send_email(to, subject, check.summary(), env))
    for status in check.delivery_status:
        (log.error if "failed" in status else log.info)("segment alert delivery: %s", status)


def check_alerts_on(con: duckdb.DuckDBPyConnection, run_id: str, config: MonitoringConfig,
                    environ: dict[str, str] | None = None) -> AlertCheck:
    """Compare, deliver, record (in the warehouse behind ``con``)."""
    if not table_exists(con, "marts.customer_segments"):
        raise SegmentsError("marts.customer_segments does not exist: run dbt build before checking alerts")
    as_of = current_as_of(con)
    current = _current_sizes(con)
    baseline = find_baseline(con, run_id, as_of)
    alerts = size_alerts(baseline.sizes, current, config) if baseline else []
    check = AlertCheck(run_id, as_of, baseline, alerts, ["log"], [])
    deliver(check, environ)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("create schema if not exists meta")
    con.execute("begin")
    try:
        _record_snapshot(con, run_id, as_of, current, now)
        _record_alerts(con, check, now)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return check


def check_segment_alerts(settings: Settings, run_id: str, config: MonitoringConfig | None = None,
                         environ: dict[str, str] | None = None) -> AlertCheck:
    """The DAG task / CLI entry point: open the warehouse and run :func:`check_alerts_on`."""
    config = config or MonitoringConfig.load(settings.dbt_project)
    if not settings.warehouse.exists():
        raise SegmentsError(f"{settings.warehouse}: warehouse file does not exist; run the pipeline first")
    release_inprocess_dbt()
    con = duckdb.connect(str(settings.warehouse))
    try:
        check = check_alerts_on(con, run_id, config, environ)
    finally:
        con.close()
    log.info("%s", check.summary())
    return check
