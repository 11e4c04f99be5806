"""Pictures of a publication: people would rather look than read.

`segment_size_chart` draws the published segment sizes (customers and share,
with average spend) from the serving database into a PNG next to the other
reports. The summary task of the DAG and `segments summary` write it.
"""

from __future__ import annotations

from pathlib import Path

from segmentation.publishing import read_summary


def segment_size_chart(serving: Path, out_dir: Path) -> Path:
    """Write ``segments_<as_of>.png`` under ``out_dir``; returns its path."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    rows, pub = read_summary(serving)
    names = [r[0] for r in rows]
    customers = [r[1] for r in rows]
    shares = [r[2] for r in rows]
    spend = [r[3] or 0.0 for r in rows]

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    bars = left.barh(names[::-1], customers[::-1], color="#4C72B0")
    for bar, share in zip(bars, shares[::-1]):
        left.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f"  {share:.1%}", va="center", fontsize=9)
    left.set_xlabel("customers")
    left.set_title("Segment size (share of all customers)")
    left.margins(x=0.15)
    right.barh(names[::-1], spend[::-1], color="#DD8452")
    right.set_xlabel("EUR")
    right.set_title("Average spend, last 365 days")
    right.set_yticklabels([])
    fig.suptitle(f"Segments as of {pub['as_of_date']}  (run {pub['run_id']})", fontsize=11)
    fig.tight_layout()

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"segments_{pub['as_of_date']}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
