"""Exceptions the pipeline raises on purpose.

Each message names what a person needs to act: the file, the row, the column
and the rule that was broken. The CLI prints ``str(exc)`` as one line and exits
with status 2; Airflow shows it as the task's failure reason.
"""

from __future__ import annotations


class SegmentsError(Exception):
    """Base class: an expected failure with a message meant for a person."""


class ConfigError(SegmentsError):
    """A configuration file (segment rules, suites, settings) is invalid."""


class ExtractError(SegmentsError):
    """A delivered file cannot be loaded as a whole (it is quarantined)."""

    def __init__(self, file: str, rule: str, detail: str, row: int | None = None, column: str | None = None):
        self.file, self.rule, self.detail, self.row, self.column = file, rule, detail, row, column
        where = file
        if row is not None:
            where += f", row {row}"
        if column:
            where += f", column {column!r}"
        super().__init__(f"{where}: {detail} [rule: {rule}]")


class QualityGateFailed(SegmentsError):
    """A Great Expectations gate failed: nothing from this run is published."""


class PublishError(SegmentsError):
    """The serving database could not be published; the previous one stays."""
