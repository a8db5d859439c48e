"""Decoding input files: UTF-8 (a byte-order mark allowed), optionally Latin-1, never UTF-16 or binary.

Every text input (configs, parameter files, settings, CSV data, instrument files) goes through
:func:`decode_text`, so a file in the wrong encoding stops with one line naming the file and what
is wrong with it, instead of a codec traceback or a TOML syntax error at the byte-order mark.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["decode_text", "read_text_file", "text_lines"]

_UTF16_32_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16",
}


def decode_text(data, source, what, allow_latin1=False):
    """The text of a file's bytes, and the encoding it was read with.

    Parameters
    ----------
    data : bytes
        The file's content.
    source : str
        The file name, for messages.
    what : str
        What the file holds (``"config"``, ``"data file"``), for messages.
    allow_latin1 : bool, optional
        Read bytes that are not UTF-8 as Latin-1 (ISO 8859-1), as instrument software on Windows
        writes them; otherwise such a file is an error.

    Returns
    -------
    text : str
        Without a UTF-8 byte-order mark.
    encoding : str
        ``"utf-8"`` or ``"latin-1"``.

    Raises
    ------
    ValueError
        One line naming ``source``: UTF-16/UTF-32 text, binary content (NUL bytes), or (without
        ``allow_latin1``) bytes that are not UTF-8, with the line where the first one is.
    """
    for bom, name in _UTF16_32_BOMS.items():
        if data.startswith(bom):
            raise ValueError(f"{source}: {what} is {name} text; save it as UTF-8")
    if b"\x00" in data[:65536]:
        raise ValueError(f"{source}: {what} is not a text file (it holds NUL bytes: binary, or UTF-16 without "
                         "a byte-order mark); save it as UTF-8 text")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if allow_latin1:
            return data.decode("latin-1"), "latin-1"
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"{source}: {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                         "save it as UTF-8") from None


def text_lines(text):
    """Lines split at ``\r\n``, ``\r`` or ``\n`` only (``str.splitlines`` also splits at bytes such as
    Latin-1's 0x85, which then cut a data row in two and shift every line number)."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_text_file(path, what, allow_latin1=False):
    """Read and decode a file with :func:`decode_text`; returns ``(text, encoding)``.

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        See :func:`decode_text`.
    """
    return decode_text(Path(path).read_bytes(), str(path), what, allow_latin1)
