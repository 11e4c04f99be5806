"""The segment report: one self-contained HTML page per run.

``reports/segments_<as_of>.html`` (and a copy, ``reports/latest.html``) shows,
each as a chart and a table:

1. segment sizes over time (``marts.segment_size_history``, else the sizes
   recorded by the alert check in ``meta.segment_size_snapshots``);
2. the transition matrix between the last two runs (``marts.segment_transitions``);
3. the RFM grid, recency x frequency score, customers per cell
   (``rfm_*`` columns of ``marts.customer_segments``);
4. statistical validation of this run (``meta.segment_validation``,
   ``meta.segment_size_checks``, ``meta.segment_kpi_summary``) and its alerts
   (``meta.segment_alerts``);
5. quality gate history (``meta.quality_results``).

Charts are matplotlib SVG inlined in the page, styles are inline CSS: the file
opens anywhere (mail attachment, file share) with no network. A section whose
tables do not exist yet (e.g. before the first history run) says so instead
of failing. Only aggregates are read (a few hundred rows), never customer rows.
"""

from __future__ import annotations

import html
import io
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from segmentation.config import Settings
from segmentation.errors import SegmentsError
from segmentation.inprocess import release_inprocess_dbt
from segmentation.monitoring import current_as_of, table_columns, table_exists

log = logging.getLogger(__name__)

PALETTE = ["#3b6ea8", "#e07b39", "#3a9a6b", "#c8453c", "#8560a8", "#8c6d4f", "#d46aa6", "#6f7781",
           "#b5a52a", "#2aa5b5", "#9bb7d8", "#f2ae7b", "#8fd0ac"]
PASS, FAIL, NEUTRAL = "#2e8b57", "#c8453c", "#9aa3ad"

CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#e3e8ee; --bg:#f6f8fa; --accent:#3b6ea8; }
* { box-sizing: border-box; }
body { margin:0; font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif;
       color:var(--ink); background:var(--bg); line-height:1.45; }
header { background:#1f3a5f; color:#fff; padding:22px 36px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:600; }
header p { margin:0; color:#c9d6e6; font-size:14px; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:8px 36px; font-size:14px; }
nav a { color:var(--accent); text-decoration:none; margin-right:18px; }
main { max-width:1180px; margin:0 auto; padding:20px 36px 48px; }
.cards { display:flex; flex-wrap:wrap; gap:14px; margin:8px 0 8px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px; min-width:150px; }
.card .v { font-size:22px; font-weight:600; }
.card .k { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.card.bad .v { color:#c8453c; } .card.good .v { color:#2e8b57; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 22px 20px;
          margin:22px 0; }
section h2 { margin:0 0 4px; font-size:19px; }
section p.lead { margin:0 0 12px; color:var(--muted); font-size:14px; }
.chart { margin:6px 0 14px; text-align:center; }
.chart svg { max-width:100%; height:auto; }
.note { background:#fff8e6; border:1px solid #f1dfae; color:#6b5412; border-radius:6px; padding:10px 14px;
        font-size:14px; }
table { border-collapse:collapse; width:100%; font-size:13px; margin:6px 0 4px; }
th, td { padding:6px 9px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { background:#f0f3f7; color:#39475a; font-weight:600; position:sticky; top:0; }
th:first-child, td:first-child, td.l, th.l { text-align:left; }
tr:hover td { background:#fafbfd; }
.scroll { overflow-x:auto; max-height:420px; overflow-y:auto; border:1px solid var(--line); border-radius:6px; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; }
.pill.ok { background:#e3f4ea; color:#22704a; } .pill.no { background:#fbe5e3; color:#a3352d; }
.pill.na { background:#eef0f3; color:#5f6b7a; }
h3 { font-size:15px; margin:16px 0 6px; }
footer { color:var(--muted); font-size:12px; text-align:center; margin-top:28px; }
"""


@dataclass
class Section:
    anchor: str
    title: str
    lead: str
    body: list[str] = field(default_factory=list)


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _fmt(value, kind: str = "") -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "p":
        if value == 0:
            return "< 1e-300"  # below double precision
        return f"{value:.2e}" if value < 0.001 else f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(headers: list[str], rows: list[list], left: int = 1, scroll: bool = False,
           text_cols: tuple[int, ...] = ()) -> str:
    """An HTML table; the first ``left`` columns and ``text_cols`` are left-aligned (text), the rest numbers."""
    def align(i: int) -> str:
        return "l" if i < left or i in text_cols or i - len(headers) in text_cols else ""

    head = "".join(f'<th class="{align(i)}">{_e(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = cell if isinstance(cell, str) and cell.startswith("<span") else _e(cell)
            cells.append(f'<td class="{align(i)}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="scroll">{table}</div>' if scroll else table


def _pill(passed) -> str:
    if passed is None:
        return '<span class="pill na">n/a</span>'
    return '<span class="pill ok">pass</span>' if passed else '<span class="pill no">fail</span>'


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


# --------------------------------------------------------------------------- charts


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 10,
        "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#9aa3ad",
        "axes.titleweight": "bold", "axes.titlesize": 11, "axes.grid": False,
    })
    return plt


def _svg(fig) -> str:
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and doctype: inline in HTML
    # Natural size (width/height in pt) but shrink with the page; screen readers get a role.
    text = text.replace("<svg ", '<svg role="img" ', 1)
    return f'<div class="chart">{text}</div>'


def _colors(segments: list[str]) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(segments)}


def _heatmap(matrix: list[list[float]], labels_y: list[str], labels_x: list[str], title: str, xlabel: str,
             ylabel: str, annotate: list[list[str]], cmap: str = "Blues", size=(7.5, 5.2), colorbar_label: str = "") -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=size)
    image = ax.imshow(matrix, cmap=cmap, aspect="auto", vmin=0)
    ax.set_xticks(range(len(labels_x)), labels_x, rotation=35 if max(map(len, labels_x)) > 3 else 0, ha="right"
                  if max(map(len, labels_x)) > 3 else "center")
    ax.set_yticks(range(len(labels_y)), labels_y)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    top = max((v for row in matrix for v in row), default=0) or 1
    for i, row in enumerate(annotate):
        for j, text in enumerate(row):
            if text:
                ax.text(j, i, text, ha="center", va="center", fontsize=8.5,
                        color="white" if matrix[i][j] > 0.55 * top else "#1f2933")
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, fraction=0.035, pad=0.02)
    if colorbar_label:
        bar.set_label(colorbar_label)
    return _svg(fig)


# --------------------------------------------------------------------------- sections


def _segment_order(con) -> list[str]:
    if table_exists(con, "marts.segment_summary"):
        return [r[0] for r in con.execute("select segment from marts.segment_summary order by segment_priority")
                .fetchall()]
    return [r[0] for r in con.execute(
        "select segment from marts.customer_segments group by 1 order by min(segment_priority)").fetchall()]


def _sizes_section(con, order: list[str]) -> Section:
    s = Section("sizes", "Segment sizes over time",
                "Customers per primary segment at each run's as-of date.")
    history, source = [], None
    if table_exists(con, "marts.segment_size_history"):
        history = con.execute("select as_of_date, segment, customers, share from marts.segment_size_history "
                              "order by 1, 2").fetchall()
        source = "marts.segment_size_history"
    if not history and table_exists(con, "meta.segment_size_snapshots"):
        history = con.execute(
            """select as_of_date, segment, customers, share from meta.segment_size_snapshots
               qualify dense_rank() over (partition by as_of_date order by recorded_at desc) = 1
               order by 1, 2""").fetchall()
        source = "meta.segment_size_snapshots (sizes recorded at each published run)"
    if not history:
        history = con.execute("select as_of_date, segment, customers, share from marts.segment_summary").fetchall() \
            if table_exists(con, "marts.segment_summary") else []
        source = "marts.segment_summary (this run only)"
    dates = sorted({r[0] for r in history})
    segments = order + sorted({r[1] for r in history} - set(order))
    colors = _colors(segments)
    by = {(r[0], r[1]): (r[2], r[3]) for r in history}
    plt = _plt()
    if len(dates) >= 2:
        fig, ax = plt.subplots(figsize=(10, 4.4))
        for seg in segments:
            ys = [by.get((d, seg), (0, 0))[0] for d in dates]
            ax.plot(dates, ys, marker="o", markersize=3.5, linewidth=2, color=colors[seg], label=seg)
        ax.set_ylabel("customers")
        ax.set_title("Customers per segment by as-of date")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        ax.grid(axis="y", color="#e3e8ee")
        fig.autofmt_xdate()
        s.body.append(_svg(fig))
    else:
        s.body.append(_note("No history yet: only one run so far. This chart shows the current sizes; "
                            "lines over time appear from the second published run on."))
        if dates:
            last = dates[-1]
            names = [seg for seg in segments if (last, seg) in by][::-1]
            fig, ax = plt.subplots(figsize=(10, 0.45 * len(names) + 1.2))
            bars = ax.barh(names, [by[(last, n)][0] for n in names], color=[colors[n] for n in names])
            for bar, n in zip(bars, names):
                ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                        f"  {by[(last, n)][0]:,} ({by[(last, n)][1]:.1%})", va="center", fontsize=9)
            ax.set_xlabel("customers")
            ax.set_title(f"Customers per segment, as of {last}")
            ax.margins(x=0.18)
            s.body.append(_svg(fig))
    shown = dates[-12:]
    rows = [[seg] + [_fmt(by.get((d, seg), (None,))[0]) for d in shown]
            + [_fmt(by.get((shown[-1], seg), (None, None))[1], "pct") if shown else "–"] for seg in segments]
    if shown:
        s.body.append(_table(["segment"] + [str(d) for d in shown] + ["share (latest)"], rows, scroll=True))
    s.body.append(f'<p class="lead">Source: {_e(source)}.</p>')
    return s


def _transitions_section(con, order: list[str], as_of) -> Section:
    s = Section("transitions", "Transitions between segments",
                "Where the customers of each segment at the previous run are now (rows: before, columns: now).")
    if not table_exists(con, "marts.segment_transitions"):
        s.body.append(_note("No history yet: marts.segment_transitions does not exist in this warehouse "
                            "(it is built from the segment history once two runs have been kept)."))
        return s
    latest = con.execute("select max(to_as_of_date) from marts.segment_transitions where to_as_of_date <= ?",
                         [as_of]).fetchone()[0] if as_of else None
    if latest is None:
        s.body.append(_note("No history yet: only one run so far, so there is nothing to compare with."))
        return s
    rows = con.execute("select from_as_of_date, from_segment, to_segment, sum(customers) "
                       "from marts.segment_transitions where to_as_of_date = ? group by 1, 2, 3",
                       [latest]).fetchall()
    previous = rows[0][0] if rows else None
    names = order + sorted(({r[1] for r in rows} | {r[2] for r in rows}) - set(order) - {None})
    counts = {(r[1], r[2]): int(r[3]) for r in rows}
    present = [n for n in names if any(counts.get((n, m)) or counts.get((m, n)) for m in names)]
    totals = {a: sum(counts.get((a, b), 0) for b in present) for a in present}
    matrix = [[counts.get((a, b), 0) / totals[a] if totals[a] else 0 for b in present] for a in present]
    annot = [[f"{counts.get((a, b), 0):,}" if counts.get((a, b)) else "" for b in present] for a in present]
    s.lead = (f"Customers by segment on {previous} (rows) and on {latest} (columns); colour = share of the row, "
              "numbers = customers. The diagonal stayed put.")
    s.body.append(_heatmap(matrix, present, present, f"Segment transitions {previous} → {latest}",
                           f"segment on {latest}", f"segment on {previous}", annot,
                           size=(1.05 * len(present) + 3, 0.8 * len(present) + 1.8),
                           colorbar_label="share of the row's customers"))
    moves = sorted(((a, b, n) for (a, b), n in counts.items() if a != b and n), key=lambda r: -r[2])[:15]
    s.body.append("<h3>Largest moves</h3>")
    s.body.append(_table(["from", "to", "customers", "share of from-segment"],
                         [[a, b, _fmt(n), _fmt(n / totals[a] if totals.get(a) else None, "pct")]
                          for a, b, n in moves], left=2) if moves else _note("Nobody changed segment."))
    return s


def _rfm_section(con) -> Section:
    s = Section("rfm", "RFM grid", "Customers by recency score (1 = longest ago, 5 = most recent) and frequency "
                "score (1 = fewest orders, 5 = most), quintiles over customers with orders.")
    cols = set(table_columns(con, "marts.customer_segments"))
    if not {"rfm_recency_score", "rfm_frequency_score"} <= cols:
        s.body.append(_note("No RFM scores yet: marts.customer_segments has no rfm_recency_score / "
                            "rfm_frequency_score columns in this warehouse."))
        return s
    grid = dict(((r, f), n) for r, f, n in con.execute(
        "select rfm_recency_score, rfm_frequency_score, count(*) from marts.customer_segments "
        "where rfm_recency_score is not null and rfm_frequency_score is not null group by 1, 2").fetchall())
    without = con.execute("select count(*) from marts.customer_segments where rfm_recency_score is null") \
        .fetchone()[0]
    scores = [5, 4, 3, 2, 1]
    matrix = [[grid.get((r, f), 0) for f in range(1, 6)] for r in scores]
    annot = [[f"{v:,}" if v else "" for v in row] for row in matrix]
    s.body.append(_heatmap(matrix, [f"R{r}" for r in scores], [f"F{f}" for f in range(1, 6)],
                           "Customers per recency x frequency score", "frequency score", "recency score",
                           annot, cmap="YlGnBu", size=(6.8, 4.8), colorbar_label="customers"))
    s.body.append(_table(["recency \\ frequency"] + [f"F{f}" for f in range(1, 6)] + ["total"],
                         [[f"R{r}"] + [_fmt(v) for v in row] + [_fmt(sum(row))] for r, row in zip(scores, matrix)]))
    s.body.append(f'<p class="lead">{without:,} customers without completed orders have no RFM scores.</p>')
    if "rfm_segment" in cols:
        rows = con.execute("select rfm_segment, count(*), count(*) / sum(count(*)) over () from "
                           "marts.customer_segments group by 1 order by 2 desc").fetchall()
        plt = _plt()
        names = [r[0] or "(none)" for r in rows][::-1]
        fig, ax = plt.subplots(figsize=(9, 0.36 * len(names) + 1.2))
        bars = ax.barh(names, [r[1] for r in rows][::-1], color="#3b6ea8")
        for bar, r in zip(bars, rows[::-1]):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f"  {r[1]:,} ({r[2]:.1%})",
                    va="center", fontsize=9)
        ax.set_title("Customers per RFM segment")
        ax.set_xlabel("customers")
        ax.margins(x=0.2)
        s.body.append("<h3>RFM segments</h3>")
        s.body.append(_svg(fig))
    return s


def _validation_section(con, run_id: str | None) -> tuple[Section, dict]:
    s = Section("validation", "Statistical validation",
                "Do the segments differ on the KPIs they are meant to separate? Kruskal-Wallis for numeric KPIs "
                "(effect size epsilon²), chi-square for yes/no KPIs (Cramér's V). A test passes when p < alpha and "
                "the effect size reaches the configured minimum.")
    facts: dict = {}
    if not table_exists(con, "meta.segment_validation"):
        s.body.append(_note("Not validated yet: meta.segment_validation does not exist "
                            "(run `segments validate` or the DAG's validate_segments task)."))
        return s, facts
    run = run_id if run_id and con.execute("select count(*) from meta.segment_validation where run_id = ?",
                                           [run_id]).fetchone()[0] else \
        con.execute("select run_id from meta.segment_validation order by validated_at desc limit 1").fetchone()[0]
    rows = con.execute(
        """select grouping, kpi, kpi_kind, kpi_definition, test, statistic, df, p_value, effect_size, effect_measure,
                  customers, segments_compared, passed, note, alpha, min_effect_size
           from meta.segment_validation where run_id = ?
           order by grouping <> 'segment', grouping, kpi_kind desc, kpi""", [run]).fetchall()
    facts["tests"] = len(rows)
    facts["passed"] = sum(1 for r in rows if r[12])
    plt = _plt()
    groupings = sorted({r[0] for r in rows}, key=lambda g: (g != "segment", g))
    fig, axes = plt.subplots(1, len(groupings), figsize=(5.4 * len(groupings), 0.42 * (len(rows) // max(
        len(groupings), 1)) + 1.6), squeeze=False, sharey=True)
    for ax, grouping in zip(axes[0], groupings):
        sub = [r for r in rows if r[0] == grouping][::-1]
        values = [r[8] or 0 for r in sub]
        bars = ax.barh([r[1] for r in sub], values,
                       color=[NEUTRAL if r[12] is None else PASS if r[12] else FAIL for r in sub])
        for bar, r in zip(bars, sub):
            label = f"  {r[8]:.3f} ({'ε²' if r[9] == 'epsilon_squared' else 'V'})" if r[8] is not None else "  n/a"
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8.5)
        if sub:
            ax.axvline(sub[0][15], color="#5f6b7a", linestyle="--", linewidth=1)
        ax.set_title(f"Effect size by KPI — {grouping}")
        ax.set_xlabel("effect size (green: pass, red: fail)")
        ax.set_xlim(0, max(1.0, max(values, default=0) * 1.15))
    s.body.append(_svg(fig))
    s.body.append(_table(
        ["grouping", "KPI", "definition", "test", "statistic", "df", "p-value", "effect size", "customers",
         "segments", "result", "note"],
        [[r[0], r[1], r[3], r[4].replace("_", "-"), _fmt(r[5]), _fmt(r[6]), _fmt(r[7], "p"),
          f"{_fmt(r[8])} {'ε²' if r[9] == 'epsilon_squared' else 'V'}" if r[8] is not None else "–",
          _fmt(r[10]), len((r[11] or "").split(", ")) if r[11] else 0, _pill(r[12]), r[13] or ""] for r in rows],
        left=4, scroll=True, text_cols=(-1,)))
    if rows:
        s.body.append(f'<p class="lead">Run {_e(run)}; alpha = {rows[0][14]}, minimum effect size = '
                      f"{rows[0][15]}.</p>")
    if table_exists(con, "meta.segment_kpi_summary"):
        summary = con.execute("select segment, kpi, mean, median from meta.segment_kpi_summary "
                              "where run_id = ? and grouping = 'segment'", [run]).fetchall()
        kinds = dict((r[1], r[2]) for r in rows if r[0] == "segment")
        kpis = [k for k in dict.fromkeys(r[1] for r in rows if r[0] == "segment")]
        if summary and kpis:
            cell = {(r[0], r[1]): r for r in summary}
            segments = _segment_order(con)
            s.body.append("<h3>What the segments look like (median; share for yes/no KPIs)</h3>")
            s.body.append(_table(["segment"] + kpis, [
                [seg] + [(_fmt(cell[(seg, k)][2], "pct") if kinds.get(k) == "categorical" else _fmt(cell[(seg, k)][3]))
                         if (seg, k) in cell else "–" for k in kpis] for seg in segments]))
    if table_exists(con, "meta.segment_size_checks"):
        small = con.execute("select grouping, segment, customers, share, reason from meta.segment_size_checks "
                            "where run_id = ? and too_small order by grouping, customers", [run]).fetchall()
        facts["too_small"] = len(small)
        s.body.append("<h3>Segments too small to act on</h3>")
        s.body.append(_table(["grouping", "segment", "customers", "share", "why"],
                             [[g, seg, _fmt(n), _fmt(sh, "pct"), why] for g, seg, n, sh, why in small], left=2,
                             text_cols=(4,))
                      if small else _note("None: every segment is above the configured minimum size and share."))
    return s, facts


def _alerts_section(con, run_id: str | None) -> tuple[Section, int | None]:
    s = Section("alerts", "Size alerts", "Segments whose size moved more than the configured share since the "
                "last published run (also logged, and posted / mailed where configured).")
    if not table_exists(con, "meta.segment_alerts"):
        s.body.append(_note("No alert check has run in this warehouse yet."))
        return s, None
    run = run_id or con.execute("select run_id from meta.segment_size_snapshots order by recorded_at desc limit 1") \
        .fetchone()[0] if table_exists(con, "meta.segment_size_snapshots") else run_id
    rows = con.execute("select segment, previous_customers, customers, relative_change, threshold, "
                       "coalesce(baseline_run_id, baseline_as_of_date::varchar), delivered_to, delivery_status "
                       "from meta.segment_alerts where run_id = ? order by abs(relative_change) desc nulls first",
                       [run]).fetchall()
    if not rows:
        s.body.append(_note(f"No alert for run {run}: no segment moved beyond the threshold."))
        return s, 0
    s.body.append(_table(["segment", "before", "now", "change", "threshold", "baseline", "sent to", "delivery"],
                         [[a, _fmt(b), _fmt(n), _fmt(c, "pct") if c is not None else "new", _fmt(t, "pct"), base,
                           to, st] for a, b, n, c, t, base, to, st in rows]))
    return s, len(rows)


def _quality_section(con, run_id: str | None) -> Section:
    s = Section("quality", "Data quality gates",
                "Great Expectations gates of each run (raw batch and marts): expectations met and failed.")
    if not table_exists(con, "meta.quality_results"):
        s.body.append(_note("No quality results yet: meta.quality_results does not exist."))
        return s
    runs = con.execute(
        """select run_id, gate, min(validated_at) as started_at, count(*) as checked,
                  count(*) filter (where not success) as failed
           from meta.quality_results group by 1, 2 order by started_at desc limit 40""").fetchall()[::-1]
    if not runs:
        s.body.append(_note("No quality results recorded yet."))
        return s
    plt = _plt()
    run_ids = list(dict.fromkeys(r[0] for r in runs))
    started = {rid: min(r[2] for r in runs if r[0] == rid) for rid in run_ids}
    gates = sorted({r[1] for r in runs}, key=lambda g: (g != "raw", g))
    width = 0.8 / len(gates)
    shades = ["#2e8b57", "#7cc49b", "#4f9d7a", "#a8d8bc"]
    fig, ax = plt.subplots(figsize=(max(6.5, 0.7 * len(run_ids) + 2.5), 3.8))
    cell = {(r[0], r[1]): r for r in runs}
    for k, gate in enumerate(gates):
        xs = [i + (k - (len(gates) - 1) / 2) * width for i in range(len(run_ids))]
        met = [cell[(rid, gate)][3] - cell[(rid, gate)][4] if (rid, gate) in cell else 0 for rid in run_ids]
        bad = [cell[(rid, gate)][4] if (rid, gate) in cell else 0 for rid in run_ids]
        ax.bar(xs, met, width * 0.95, color=shades[k % len(shades)], label=f"{gate}: met")
        ax.bar(xs, bad, width * 0.95, bottom=met, color=FAIL, label="failed" if k == 0 else None)
    ax.set_xticks(range(len(run_ids)), [f"{started[rid]:%m-%d}\n{started[rid]:%H:%M}" for rid in run_ids],
                  fontsize=8)
    ax.set_ylabel("expectations")
    ax.set_title("Quality gate runs, oldest left (bars: " + ", ".join(gates) + ")")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    s.body.append(_svg(fig))
    s.body.append(_table(["run", "gate", "validated at (UTC)", "expectations", "failed", "result"],
                         [[r[0], r[1], f"{r[2]:%Y-%m-%d %H:%M:%S}", _fmt(r[3]), _fmt(r[4]), _pill(r[4] == 0)]
                          for r in runs[::-1][:20]], left=2, scroll=True))
    failures = con.execute(
        """select run_id, gate, table_name, expectation_type, column_name, observed_value, unexpected_count
           from meta.quality_results where not success order by validated_at desc limit 20""").fetchall()
    if failures:
        s.body.append("<h3>Latest failed expectations</h3>")
        s.body.append(_table(["run", "gate", "table", "expectation", "column", "observed", "unexpected"],
                             [[*r[:5], (r[5] or "")[:60], _fmt(r[6])] for r in failures], left=5, scroll=True))
    return s


# --------------------------------------------------------------------------- page


def render_report(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> tuple[str, dict]:
    """The report page for the warehouse behind ``con`` (read only) and facts about it."""
    if not table_exists(con, "marts.customer_segments"):
        raise SegmentsError("marts.customer_segments does not exist: run dbt build before the segment report")
    as_of = current_as_of(con)
    publication = None
    if table_exists(con, "meta.publications"):
        publication = con.execute("select run_id, published_at from meta.publications "
                                  "order by published_at desc limit 1").fetchone()
    run_id = run_id or (publication[0] if publication else None)
    customers = con.execute("select count(*) from marts.customer_segments").fetchone()[0]
    order = _segment_order(con)
    validation, vfacts = _validation_section(con, run_id)
    alerts, n_alerts = _alerts_section(con, run_id)
    sections = [_sizes_section(con, order), _transitions_section(con, order, as_of), _rfm_section(con),
                validation, alerts, _quality_section(con, run_id)]
    cards = [("customers", _fmt(customers), ""), ("segments", _fmt(len(order)), "")]
    if vfacts.get("tests"):
        cards.append(("KPI tests passed", f"{vfacts['passed']}/{vfacts['tests']}",
                      "good" if vfacts["passed"] == vfacts["tests"] else "bad"))
    if vfacts.get("too_small") is not None:
        cards.append(("segments too small", _fmt(vfacts["too_small"]), "bad" if vfacts["too_small"] else "good"))
    if n_alerts is not None:
        cards.append(("size alerts", _fmt(n_alerts), "bad" if n_alerts else "good"))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    published = f", published {publication[1]:%Y-%m-%d %H:%M} UTC" if publication else ""
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Segment report — as of {_e(as_of)}</title>", f"<style>{CSS}</style></head><body>",
        f"<header><h1>Segment report — as of {_e(as_of)}</h1>"
        f"<p>Run {_e(run_id or 'n/a')}{_e(published)} · generated {generated}</p></header>",
        "<nav>" + "".join(f'<a href="#{x.anchor}">{_e(x.title)}</a>' for x in sections) + "</nav>",
        "<main>", '<div class="cards">' + "".join(
            f'<div class="card {cls}"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div></div>'
            for k, v, cls in cards) + "</div>",
    ]
    for sec in sections:
        parts.append(f'<section id="{sec.anchor}"><h2>{_e(sec.title)}</h2><p class="lead">{_e(sec.lead)}</p>')
        parts.extend(sec.body)
        parts.append("</section>")
    parts.append("<footer>warehouse-segments · self-contained report: no external resources</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts), {"as_of_date": as_of, "run_id": run_id, "customers": customers, **vfacts}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(con: duckdb.DuckDBPyConnection, out_dir: Path, run_id: str | None = None) -> Path:
    """Write ``segments_<as_of>.html`` and ``latest.html`` under ``out_dir``; returns the dated file."""
    page, facts = render_report(con, run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"segments_{facts['as_of_date']}.html"
    _write_atomic(path, page)
    _write_atomic(out_dir / "latest.html", page)
    log.info("segment report: %s (%d KB)", path, len(page) // 1024)
    return path


def build_report(settings: Settings, run_id: str | None = None) -> Path:
    """The DAG task / CLI entry point: read the warehouse (read-only) and write the report."""
    if not settings.warehouse.exists():
        raise SegmentsError(f"{settings.warehouse}: warehouse file does not exist; run the pipeline first")
    release_inprocess_dbt()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return write_report(con, settings.reports, run_id)
    finally:
        con.close()
