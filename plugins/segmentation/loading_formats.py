"""What a delivered file is: its format by name, checked against its content.

Nothing here reads more than the first few kilobytes of a file (plus a
streaming checksum), so it is cheap for multi-GB extracts.
"""

from __future__ import annotations

import csv
import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from segmentation.errors import ExtractError

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"

FORMAT_BY_SUFFIX = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".parquet": "parquet", ".pq": "parquet",
}

# Files a writer has not finished yet (see docs/ingestion.md, "Files still being written").
IN_PROGRESS_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".filepart",
                        ".inprogress", ".writing", ".lock", ".swp")
SIDECAR_SUFFIXES = (".reason.txt", ".md5", ".sha256", ".done", ".ok")

_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileKind:
    format: str        # csv | jsonl | parquet
    gzip: bool


def is_in_progress_name(name: str) -> bool:
    """True for names a writer uses while the file is incomplete (hidden or temp names)."""
    lower = name.lower()
    return name.startswith((".", "~", "_")) or lower.endswith(IN_PROGRESS_SUFFIXES) or name.endswith("~")


def is_sidecar_name(name: str) -> bool:
    return name.lower().endswith(SIDECAR_SUFFIXES)


def kind_from_name(path: Path) -> FileKind:
    """Format the file's name promises: <name>.<csv|tsv|txt|jsonl|ndjson|json|parquet|pq>[.gz]."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] in (".gz", ".gzip")
    if gz:
        suffixes = suffixes[:-1]
    fmt = FORMAT_BY_SUFFIX.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise ExtractError(path.name, "unsupported_file_type",
                           "file name does not end in a supported format "
                           "(.csv, .tsv, .jsonl, .ndjson, .json, .parquet, each optionally .gz)")
    return FileKind(fmt, gz)


def sha256_of(path: Path, chunk: int = 4 * 1024 * 1024) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_and_lines(path: Path, chunk: int = 4 * 1024 * 1024) -> tuple[str, int]:
    """SHA-256 and physical line count (a last line without newline counts) in one read."""
    h = hashlib.sha256()
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    return h.hexdigest(), lines + (last != b"\n")


def inner_head(path: Path, kind: FileKind) -> bytes:
    """First bytes of the (decompressed) content."""
    with path.open("rb") as f:
        raw = f.read(_HEAD_BYTES)
    if not kind.gzip:
        return raw
    if not raw.startswith(GZIP_MAGIC):
        raise ExtractError(path.name, "content_does_not_match_name",
                           "name ends in .gz but the content is not gzip-compressed")
    d = zlib.decompressobj(wbits=31)
    try:
        return d.decompress(raw, _HEAD_BYTES)
    except zlib.error as exc:
        raise ExtractError(path.name, "corrupt_gzip", f"gzip stream cannot be decompressed ({exc})") from exc


def check_content(path: Path, kind: FileKind, size: int) -> bool:
    """Check the content is what the name says. Returns False when there is no content at all."""
    if size == 0:
        raise ExtractError(path.name, "empty_file", "file is empty (0 bytes): nothing to load, not even a header")
    head = inner_head(path, kind)
    if kind.format == "parquet":
        if not head.startswith(PARQUET_MAGIC):
            raise ExtractError(path.name, "content_does_not_match_name",
                               f"name says Parquet but the content does not start with PAR1 ({_describe(head)})")
        return True
    if head.startswith(GZIP_MAGIC):
        raise ExtractError(path.name, "content_does_not_match_name",
                           "content is gzip-compressed but the name does not end in .gz")
    if head.startswith(PARQUET_MAGIC):
        raise ExtractError(path.name, "content_does_not_match_name",
                           f"name says {kind.format.upper()} but the content is a Parquet file")
    text = head[len(UTF8_BOM):] if head.startswith(UTF8_BOM) else head
    if not text.strip():
        raise ExtractError(path.name, "empty_file", "file holds no data, only whitespace")
    if b"\x00" in text:
        raise ExtractError(path.name, "content_does_not_match_name",
                           f"name says {kind.format.upper()} text but the content is binary (NUL bytes)")
    first = text.lstrip()[:1]
    if kind.format == "jsonl" and first != b"{":
        raise ExtractError(path.name, "content_does_not_match_name",
                           f"name says JSON lines but the first line is not a JSON object ({_describe(head)})")
    if kind.format == "csv" and first in (b"{", b"["):
        raise ExtractError(path.name, "content_does_not_match_name",
                           f"name says CSV but the content looks like JSON ({_describe(head)})")
    return True


def _describe(head: bytes) -> str:
    sample = head[:40].decode("latin-1").encode("unicode_escape").decode("ascii")
    return f"starts with {sample!r}"


_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def extract_date_from_name(name: str) -> str | None:
    m = _DATE_IN_NAME.search(name)
    return m.group(1) if m else None


DELIMITER_CANDIDATES = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvHeader:
    delimiter: str
    columns: list[str]


def read_csv_header(path: Path, kind: FileKind) -> CsvHeader:
    """Delimiter and column names of a CSV file, from its header line alone.

    DuckDB's sniffer also looks at data rows, which a messy file can mislead (and
    then it refuses the whole file); the header line is what a person would look
    at, so it decides. Data rows are then parsed strictly by DuckDB with these
    settings, and rows that do not fit are rejected one by one.
    """
    head = inner_head(path, kind)
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM):]
    raw_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        line = raw_line.decode("utf-8")
    except UnicodeDecodeError:
        line = raw_line.decode("latin-1")
    delimiter = _guess_delimiter(line)
    names = next(csv.reader([line], delimiter=delimiter, quotechar='"'), [])
    columns: list[str] = []
    for i, name in enumerate(names, start=1):
        name = name.strip() or f"column{i}"
        base, n = name, 2
        while name in columns:
            name, n = f"{base}_{n}", n + 1
        columns.append(name)
    return CsvHeader(delimiter, columns)


def _guess_delimiter(line: str) -> str:
    counts = {d: 0 for d in DELIMITER_CANDIDATES}
    in_quotes = False
    for ch in line:
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in counts:
            counts[ch] += 1
    best = max(DELIMITER_CANDIDATES, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","
