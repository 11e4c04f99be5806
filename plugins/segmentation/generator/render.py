"""Vectorised rendering of generated values into delivered strings, and atomic file writing.

Everything here turns numpy arrays into pyarrow string arrays without a Python
loop per row, so a part of a million events renders in about a second.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

NULL_STR = pa.scalar(None, pa.string())
_HEX_PAIRS = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")
EPOCH = date(1970, 1, 1)


def strings(values: np.ndarray | list[str]) -> pa.Array:
    """A pyarrow string array from a numpy/Python sequence of str."""
    return pa.array(values, type=pa.string())


def pick(vocab: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    """vocab[idx] as a string array, without a Python loop."""
    return pc.take(pa.array(list(vocab), type=pa.string()), pa.array(idx, type=pa.int64()))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def padded_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """prefix + zero-padded number, e.g. CRM-00000042."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width=width, padding="0")
    return join(prefix, digits)


def hex_ids(prefix: str, words: np.ndarray) -> pa.Array:
    """prefix + 16 hex digits of each uint64 (cookie-like ids)."""
    as_bytes = np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(-1, 8)
    text = np.ascontiguousarray(_HEX_PAIRS[as_bytes]).view("S16").reshape(-1)
    return join(prefix, pa.array(text.astype("U16"), type=pa.string()))


def with_nulls(values: pa.Array, missing: np.ndarray) -> pa.Array:
    """values with null where missing is True."""
    return pc.if_else(pa.array(missing, type=pa.bool_()), NULL_STR, values)


def money(cents: np.ndarray) -> pa.Array:
    """Integer cents as a dot-decimal string with two places: 1234 -> '12.34'."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), width=2, padding="0")
    return join(whole, ".", frac)


def iso_timestamps(utc_seconds: np.ndarray, offset_minutes: np.ndarray, suffixes: pa.Array) -> pa.Array:
    """ISO 8601 local time plus its UTC offset suffix, e.g. 2026-11-20T14:03:11+01:00."""
    local = np.asarray(utc_seconds, dtype=np.int64) + np.asarray(offset_minutes, dtype=np.int64) * 60
    ts = pa.array(local.astype("datetime64[s]"), type=pa.timestamp("s"))
    text = pc.cast(ts, pa.string())  # "YYYY-MM-DD HH:MM:SS" (much faster than strftime)
    return join(pc.utf8_replace_slice(text, start=10, stop=11, replacement="T"), suffixes)


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def write_csv_atomic(table: pa.Table, path: Path) -> str:
    """Write table as CSV (header, minimal quoting) to a temp name, then rename; returns sha256."""
    tmp = path.with_name(f".{path.name}.tmp")
    pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    return _finish(tmp, path)


def write_jsonl_atomic(table: pa.Table, path: Path) -> str:
    """Write table as newline-delimited JSON (one object per row, keys in column order, null for missing).

    Lines are assembled column by column with Arrow string kernels, then the
    string buffer is written as is: no per-row Python, ~10x faster than a
    JSON writer for wide event tables. Values are JSON-escaped.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        for batch in table.to_batches(max_chunksize=500_000):
            fh.write(_jsonl_bytes(batch))
    return _finish(tmp, path)


def _json_value(values: pa.Array) -> pa.Array:
    text = pc.cast(values, pa.string())
    if not _needs_escape(text):
        return pc.fill_null(join('"', text, '"'), "null")
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, char, escaped)
    return pc.fill_null(join('"', text, '"'), "null")


def _needs_escape(text: pa.Array) -> bool:
    """True if any value holds a quote, backslash or control character (checked on the raw bytes)."""
    data = text.buffers()[2]
    if data is None:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    return bool(((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any())


def _jsonl_bytes(batch: pa.RecordBatch) -> bytes:
    pieces: list[pa.Array | str] = []
    for i, name in enumerate(batch.schema.names):
        pieces.append(("{" if i == 0 else ",") + json.dumps(name) + ":")
        pieces.append(_json_value(batch.column(i)))
    pieces.append("}\n")
    lines = join(*pieces)
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]


def _finish(tmp: Path, path: Path) -> str:
    digest = file_sha256(tmp)
    os.replace(tmp, path)
    return digest


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
