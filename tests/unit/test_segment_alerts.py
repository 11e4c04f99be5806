"""Segment size-jump alerts: an injected jump fires (log + webhook + email), no jump stays quiet."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest

from _segment_marts import DEFAULT_SEGMENTS, build_marts
from segmentation.alerts import check_alerts_on, size_alerts
from segmentation.monitoring import MonitoringConfig

CONFIG = MonitoringConfig(alert_max_size_change=0.25, alert_min_customers=20)


@pytest.fixture()
def webhook():
    """A local HTTP server on 127.0.0.1 that records every JSON body posted to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "content_type": self.headers["Content-Type"],
                             "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/segments", received
    server.shutdown()
    server.server_close()


def _jump(segment: str, factor: float) -> dict:
    sizes = dict(DEFAULT_SEGMENTS)
    n, *rest = sizes[segment]
    sizes[segment] = (int(n * factor), *rest)
    return sizes


def test_injected_size_jump_logs_posts_the_webhook_and_is_recorded(tmp_path, webhook, caplog):
    url, received = webhook
    path = tmp_path / "warehouse.duckdb"
    env = {"SEGMENTS_ALERT_WEBHOOK": url}
    build_marts(path)
    with duckdb.connect(str(path)) as con:
        first = check_alerts_on(con, "run-1", CONFIG, env)
    assert first.baseline is None and first.alerts == [] and received == []

    build_marts(path, segments=_jump("active", 1.5))  # the next run: active 300 -> 450 customers
    with caplog.at_level(logging.WARNING, logger="segmentation.alerts"):
        with duckdb.connect(str(path)) as con:
            check = check_alerts_on(con, "run-2", CONFIG, env)
            recorded = con.execute("select segment, previous_customers, customers, baseline_run_id, delivered_to, "
                                   "delivery_status from meta.segment_alerts where run_id = 'run-2'").fetchall()
    assert [(a.segment, a.previous_customers, a.customers) for a in check.alerts] == [("active", 300, 450)]
    assert any("SEGMENT SIZE ALERT" in r.message and "'active' grew 50%" in r.message for r in caplog.records)
    assert len(received) == 1
    post = received[0]
    assert post["path"] == "/hooks/segments" and post["content_type"] == "application/json"
    assert post["json"]["run_id"] == "run-2" and post["json"]["baseline"]["run_id"] == "run-1"
    assert [a["segment"] for a in post["json"]["alerts"]] == ["active"]
    assert "active" in post["json"]["text"]
    assert recorded == [("active", 300, 450, "run-1", "log, webhook", "webhook: HTTP 204")]


def test_no_size_jump_raises_no_alert_and_posts_nothing(tmp_path, webhook, caplog):
    url, received = webhook
    path = build_marts(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(path)) as con:
        check_alerts_on(con, "run-1", CONFIG, {"SEGMENTS_ALERT_WEBHOOK": url})
    build_marts(path, segments=_jump("active", 1.1))  # +10 %: under the 25 % threshold
    with caplog.at_level(logging.WARNING, logger="segmentation.alerts"):
        with duckdb.connect(str(path)) as con:
            check = check_alerts_on(con, "run-2", CONFIG, {"SEGMENTS_ALERT_WEBHOOK": url})
            alerts = con.execute("select count(*) from meta.segment_alerts").fetchone()[0]
    assert check.baseline is not None and check.alerts == []
    assert received == [] and alerts == 0
    assert not [r for r in caplog.records if "SEGMENT SIZE ALERT" in r.message]


def test_baseline_falls_back_to_segment_size_history_when_no_run_was_checked_before(tmp_path):
    path = build_marts(tmp_path / "warehouse.duckdb", history=True)
    with duckdb.connect(str(path)) as con:
        con.execute("update marts.segment_size_history set customers = customers * 3 "
                    "where segment = 'dormant' and as_of_date = date '2026-11-18'")
        check = check_alerts_on(con, "run-1", CONFIG, {})
    assert check.baseline.source == "marts.segment_size_history"
    assert str(check.baseline.as_of_date) == "2026-11-18"
    assert "dormant" in [a.segment for a in check.alerts]


def test_unreachable_webhook_is_recorded_as_failed_without_failing_the_run(tmp_path):
    path = build_marts(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(path)) as con:
        check_alerts_on(con, "run-1", CONFIG, {})
    build_marts(path, segments=_jump("dormant", 0.5))
    with duckdb.connect(str(path)) as con:
        check = check_alerts_on(con, "run-2", CONFIG, {"SEGMENTS_ALERT_WEBHOOK": "http://127.0.0.1:9/nothing"})
    assert check.alerts and check.delivery_status[0].startswith("webhook failed")


def test_small_segments_and_new_segments_follow_the_thresholds():
    previous = {"a": 100, "tiny": 4, "gone": 50}
    current = {"a": 120, "tiny": 9, "fresh": 30}
    alerts = {a.segment: a for a in size_alerts(previous, current, CONFIG)}
    assert set(alerts) == {"gone", "fresh"}  # a: +20 % (under 25 %), tiny: under 20 customers
    assert alerts["gone"].relative_change == -1.0 and alerts["fresh"].relative_change is None


def test_alert_email_is_sent_through_smtp_when_configured(tmp_path):
    smtpd = pytest.importorskip("smtpd", reason="Python's smtpd test server is gone (Python >= 3.12)")
    import asyncore

    messages = []

    class Sink(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            messages.append((mailfrom, rcpttos, data.decode() if isinstance(data, bytes) else data))

    server = Sink(("127.0.0.1", 0), None)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.1, "count": 100}, daemon=True)
    thread.start()
    path = build_marts(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(path)) as con:
        check_alerts_on(con, "run-1", CONFIG, {})
    build_marts(path, segments=_jump("prospect", 2.0))
    env = {"SEGMENTS_ALERT_EMAIL_TO": "crm-team@example.test", "SEGMENTS_SMTP_HOST": "127.0.0.1",
           "SEGMENTS_SMTP_PORT": str(port), "SEGMENTS_ALERT_EMAIL_FROM": "segments@example.test"}
    with duckdb.connect(str(path)) as con:
        check = check_alerts_on(con, "run-2", CONFIG, env)
    server.close()
    thread.join(timeout=15)
    assert check.delivery_status == ["email: sent to crm-team@example.test"]
    assert len(messages) == 1 and messages[0][1] == ["crm-team@example.test"]
    assert "'prospect' grew 100%" in messages[0][2]
