"""The README stays true: every extract contract column and make target it names exists."""

from __future__ import annotations

import re
from pathlib import Path

from segmentation.contracts import SOURCES

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_readme_documents_every_column_of_every_extract_contract():
    missing = [f"{s.name}.{c.name}" for s in SOURCES.values() for c in s.columns if f"`{c.name}`" not in README]
    assert not missing, f"README lacks contract columns: {missing}"


def test_every_make_target_the_readme_mentions_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    mentioned = set(re.findall(r"`make ([a-z][a-z-]*)", README)) | set(re.findall(r"^make ([a-z][a-z-]*)", README, flags=re.M))
    assert mentioned, "README names no make target"
    assert mentioned <= targets, f"README mentions missing targets: {mentioned - targets}"


def test_every_doc_the_readme_links_exists():
    for link in re.findall(r"\]\(((?:docs|bench)/[^)#]+)\)", README):
        assert (REPO / link).exists(), link
