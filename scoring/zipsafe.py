"""Low-level, bounded reading of zip entries held in memory.

Python's ``zipfile`` parses the central directory; entry contents are read here straight from
the archive's bytes, never more than a cap, and checked against the header's size and CRC-32.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib

#: Bytes that start archives and compressed files, refused inside a submission.
NESTED_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!")
#: Names of archives and compressed files, refused inside a submission.
NESTED_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar")

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


class CorruptEntry(Exception):
    """An entry whose bytes do not match its header."""


def directory_size(data: bytes) -> tuple[int, int] | None:
    """Entries and central-directory bytes the end record announces, before parsing anything."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or end + 22 > len(data):
        return None
    entries, size = struct.unpack_from("<HL", data, end + 10)
    return int(entries), int(size)


def entry_name(info: zipfile.ZipInfo) -> tuple[str, str | None]:
    """The entry's name as UTF-8, or its bytes shown escaped and the reason they are not."""
    if info.flag_bits & 0x800:
        return info.filename, None
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="backslashreplace"), "name is not valid UTF-8"


def unsafe_reason(name: str) -> str | None:
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if ".." in name.split("/"):
        return "path escapes the archive ('..')"
    return None


def ignored(name: str) -> bool:
    parts = [part for part in name.split("/") if part]
    return name.endswith("/") or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts)


def inflate(data: bytes, info: zipfile.ZipInfo, cap: int) -> bytes:
    """An entry's content: never more than ``cap + 1`` bytes, nor than its header's size + 1.

    Raises
    ------
    CorruptEntry
        On a bad local header, a truncated or undecodable stream, an unsupported compression
        method, or a content whose size or CRC-32 differs from the central directory's.
    """
    offset = info.header_offset
    if offset + _LOCAL_HEADER.size > len(data):
        raise CorruptEntry("local header outside the archive")
    fields = _LOCAL_HEADER.unpack_from(data, offset)
    if fields[0] != b"PK\x03\x04":
        raise CorruptEntry("bad local header")
    start = offset + _LOCAL_HEADER.size + fields[10] + fields[11]
    raw = data[start : start + info.compress_size]
    if len(raw) < info.compress_size:
        raise CorruptEntry("truncated data")
    limit = min(cap, info.file_size) + 1
    if info.compress_type == zipfile.ZIP_STORED:
        content = raw[:limit]
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        try:
            content = zlib.decompressobj(-15).decompress(raw, limit)
        except zlib.error as error:
            raise CorruptEntry(f"bad deflate stream: {error}") from None
    else:
        raise CorruptEntry(f"unsupported compression method {info.compress_type}")
    if len(content) > cap:
        return content
    if len(content) != info.file_size:
        raise CorruptEntry(f"holds other than the {info.file_size} bytes its header says")
    if zlib.crc32(content) != info.CRC:
        raise CorruptEntry("bad CRC-32")
    return content
