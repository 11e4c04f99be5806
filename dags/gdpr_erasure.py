"""
### gdpr_erasure

Manual only. Erases people (GDPR art. 17 / CCPA deletion requests) from every
layer: raw, staging seeds, intermediate, restricted, marts, history and meta
tables of the warehouse, the published serving file (rewritten atomically),
landed and quarantined extracts, past audience exports and reports. Writes an
audit record without personal data (`meta.erasure_audit`: request id, salted
hash of the identifier, counts per table and file, time) and adds the people's
identifiers, as salted hashes, to the suppression list
(`meta.erasure_suppression`) so a later extract that still contains them does
not bring them back.

Trigger with
`{"requests": [{"email": "a@b.c"}, {"phone": "+49 30 1234567"}, {"customer_key": "c_..."}]}`
and/or `{"requests_file": "/path/requests.csv"}` (CSV kind,value[,request_id] or
a JSON list); pending rows of `meta.erasure_requests` are processed too.
Needs the PII salt (`SEGMENTS_PII_SALT` or the Variable `segments_pii_salt`).
Procedure and audit: docs/privacy.md.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

WRITER_POOL = "duckdb_writer"


@dag(
    dag_id="gdpr_erasure",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0},
    params={
        "requests": Param([], type="array", description='[{"email": ...} | {"phone": ...} | {"customer_key": ...}]'),
        "requests_file": Param(None, type=["null", "string"], description="CSV (kind,value[,request_id]) or JSON list"),
    },
    tags=["privacy", "gdpr"],
    doc_md=__doc__,
)
def gdpr_erasure():
    # One task: requests are parsed and checked first (a bad one names itself and nothing
    # is deleted), and no plain identifier travels through XCom.
    @task(pool=WRITER_POOL)
    def erase_requests() -> dict:
        """Delete, rewrite, suppress and audit (segmentation.erasure.erase)."""
        from pathlib import Path

        from segmentation.config import Settings
        from segmentation.erasure import erase, parse_requests, read_requests_file

        context = get_current_context()
        params, run_id = context["params"], context["run_id"]
        items = [dict(r) for r in (params.get("requests") or [])]
        for n, item in enumerate(items, start=1):  # audit ids: the run id and the position
            item.setdefault("request_id", f"{run_id}#{n}")
        requests = parse_requests(items, "params.requests")
        if params.get("requests_file"):
            requests += read_requests_file(Path(params["requests_file"]))
        result = erase(Settings.from_env(), requests)
        print(result.summary())
        return {"requests": result.request_ids, "customers": result.customers_matched,
                "rows_deleted": sum(result.rows_deleted.values()), "files_rewritten": len(result.files_rewritten)}

    erase_requests()


gdpr_erasure()
