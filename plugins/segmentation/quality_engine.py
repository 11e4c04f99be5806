"""Great Expectations' SQL execution engine, made to work on a DuckDB file.

GE 1.24 runs every metric as ``with engine.connect() as c: result =
c.execute(q)`` and fetches the rows *after* the ``with`` block. Leaving the
block rolls back SQLAlchemy's implicit transaction; duckdb-engine's cursor
is the DuckDB connection itself, so that ROLLBACK replaces the pending
result and GE sees zero rows (``IndexError`` in ``resolve_metric_bundle``,
GE issue #11579). GE already keeps one connection open for dialects that
need it (SQLite, SQL Server, ...); this engine does the same for DuckDB, so
every metric is computed by DuckDB SQL and only aggregates reach Python.

Two more DuckDB specifics:
- a failed statement aborts DuckDB's transaction; the kept connection is
  rolled back so the next metric can run;
- GE knows no "duckdb" dialect module, so its regex expectations give up
  ("Regex is not supported for dialect duckdb"). duckdb-engine's dialect
  derives from SQLAlchemy's PostgreSQL dialect and DuckDB understands
  PostgreSQL's ``~`` / ``!~`` regex operators (partial match, like
  PostgreSQL), so GE is told to use its PostgreSQL branches. SQL is still
  compiled by duckdb-engine's dialect.

The datasource type ``segments_duckdb`` registers itself with GE's fluent
datasource registry when this module is imported.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Generator, Literal, Optional, Type

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """SqlAlchemyExecutionEngine on one kept-open duckdb-engine connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.dialect_module is None:
            # Read by GE (``dialect_module.dialect``) only to pick regex / LIKE syntax.
            self.dialect_module = postgresql

    @contextlib.contextmanager
    def get_connection(self) -> Generator[sa.Connection, None, None]:
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        yield self._connection

    @staticmethod
    def _execute_query_with_recovery(connection: sa.Connection, query: Any) -> Any:
        try:
            return connection.execute(query)
        except sa.exc.DBAPIError:
            connection.rollback()  # DuckDB refuses anything else in an aborted transaction
            raise

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.rollback()
            self._connection.close()
            self._connection = None
        self.engine.dispose()


class WarehouseDatasource(SQLDatasource):
    """A GE SQL datasource on the DuckDB warehouse (connection string ``duckdb:///<file>``)."""

    type: Literal["segments_duckdb"] = "segments_duckdb"
    execution_engine_override: ClassVar[Optional[Type[SqlAlchemyExecutionEngine]]] = DuckDBExecutionEngine

    def close(self) -> None:
        """Release every DuckDB connection this datasource opened (the file is single-writer)."""
        if self._execution_engine is not None:
            self._execution_engine.close()
            self._execution_engine = None
        if getattr(self, "_engine", None) is not None:
            self._engine.dispose()
            self._engine = None
