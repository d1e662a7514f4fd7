"""A data file read as text, in bounded pieces: every reader of JSONL and CSV goes through here.

    for lineno, line in text_lines(Path("tickets.jsonl")):   # lines without their "\\n"
        ...
    max_field_chars()                                       # the per-field limit row checks use

What is refused, each with a one-line DataError naming the file (and the line):

- anything that is not a regular file: a folder, a named pipe, a device (``/dev/zero`` behind a
  symlink would grow without end), a socket;
- a file larger than ``BIZZTUNE_MAX_DATA_MB`` (default 256 MB), a line longer than
  ``max_line_bytes()`` (1 MB, or 10 times the field limit if that is more); a field longer
  than ``BIZZTUNE_MAX_FIELD_CHARS`` (default 100,000 characters) is refused by the row check
  (``io.row_to_example``) and by the CSV reader;
- text that is not UTF-8: UTF-16 (named as such), a NUL byte (a binary file), an invalid byte.
  A UTF-8 byte-order mark is fine.

The file is read twice, 1 MB at a time: once to check its encoding (so a NUL or a bad byte is
reported before any row is parsed), once line by line; memory stays bounded by the largest line,
whatever the file. The limits are documented in docs/data.md.
"""

from __future__ import annotations

import codecs
import itertools
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from bizztune.core.errors import ConfigError, DataError

MAX_DATA_MB = 256
"""Default largest data file, in MB (``BIZZTUNE_MAX_DATA_MB``): about half a million tickets."""
MAX_FIELD_CHARS = 100_000
"""Default longest field, in characters (``BIZZTUNE_MAX_FIELD_CHARS``): 25 times what a local
model reads of a prompt (4,096 tokens), far above any ticket."""
CHUNK = 1 << 20


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{name}={value!r}: expected a whole number above 0")
    return number


def max_file_bytes() -> int:
    return _env_int("BIZZTUNE_MAX_DATA_MB", MAX_DATA_MB) * 1_000_000


def max_field_chars() -> int:
    return _env_int("BIZZTUNE_MAX_FIELD_CHARS", MAX_FIELD_CHARS)


def max_line_bytes() -> int:
    return max(1 << 20, 10 * max_field_chars())


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
}


def open_data_file(path: Path) -> tuple[int, int]:
    """An open descriptor of the regular file ``path`` and its size; a DataError for anything
    else or a file over the size limit. Opened without blocking, so a named pipe is refused,
    not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    st = os.fstat(fd)
    problem = ""
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a file")
        link = f"a link to {os.path.realpath(path)}, " if os.path.islink(path) else ""
        problem = f"not a regular file ({link}{kind}); give a JSONL or CSV file"
    elif st.st_size > max_file_bytes():
        problem = (
            f"{st.st_size / 1e6:,.0f} MB, more than the {max_file_bytes() // 1_000_000:,} MB a "
            "data file may have (BIZZTUNE_MAX_DATA_MB raises the limit)"
        )
    if problem:
        os.close(fd)
        raise DataError(f"{path}: {problem}")
    return fd, st.st_size


def check_encoding(path: Path) -> None:
    """Read the whole file once, in pieces: a DataError for UTF-16, a NUL byte or a byte that
    is not UTF-8, naming the line and the offset; a file that grows past the limit."""
    fd, _ = open_data_file(path)
    with os.fdopen(fd, "rb") as fh:
        head = fh.read(CHUNK)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise DataError(
                f"{path}: the file is UTF-16 text, not UTF-8; save it as UTF-8 "
                f"(e.g. iconv -f UTF-16 -t UTF-8 {path.name} > {path.stem}-utf8{path.suffix})"
            )
        decoder = codecs.getincrementaldecoder("utf-8")()
        start, lines, chunk = 0, 0, head  # offset of chunk, newlines before it
        while True:
            nul = chunk.find(b"\x00")
            if nul >= 0:
                line = lines + chunk.count(b"\n", 0, nul) + 1
                raise DataError(
                    f"{path}:{line}: not a text file (a NUL byte at offset {start + nul}); "
                    "expected UTF-8 JSON Lines or CSV"
                )
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the last piece
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                data = e.object
                at = start - pending + e.start
                line = lines + data.count(b"\n", 0, e.start) + 1
                raise DataError(
                    f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {at}); "
                    "save the file as UTF-8"
                ) from None
            if not chunk:
                return
            start += len(chunk)
            lines += chunk.count(b"\n")
            if start > max_file_bytes():
                raise DataError(
                    f"{path}: grew past {max_file_bytes() // 1_000_000:,} MB while read"
                )
            chunk = fh.read(CHUNK)


def text_lines(path: Path, keep_ends: bool = False) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line of a UTF-8 data file, checked as the module docstring
    says; without the line end unless ``keep_ends`` (CSV needs it inside quoted cells)."""
    check_encoding(path)
    limit = max_line_bytes()
    fd, _ = open_data_file(path)
    with os.fdopen(fd, "rb") as fh:
        for lineno in itertools.count(1):
            raw = fh.readline(limit + 1)
            if not raw:
                return
            if len(raw) > limit and not raw.endswith(b"\n"):
                raise DataError(
                    f"{path}:{lineno}: a line longer than {limit:,} bytes; a row this long is "
                    "not a ticket (BIZZTUNE_MAX_FIELD_CHARS raises the limit)"
                )
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            text = raw.decode("utf-8")
            yield lineno, text if keep_ends else text.removesuffix("\n")
