"""Reading submission zips safely, in memory, and the solutions they are scored against.

Nothing is extracted to disk. Every size is checked against caps derived from what the track
expects before anything is decompressed, and every read is bounded, so memory stays bounded
whatever the zip's headers claim. Every problem is collected (path, reason) and reported at once.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from scoring.expected import PHASES, Expected
from scoring.parsing import parse_labels, parse_values
from scoring.zipsafe import (
    NESTED_MAGIC,
    NESTED_SUFFIXES,
    CorruptEntry,
    directory_size,
    entry_name,
    ignored,
    inflate,
    unsafe_reason,
)

#: Bytes allowed per value in a prediction.csv (a float's repr, a separator and some spaces).
BYTES_PER_VALUE = 40
#: Extra bytes allowed per file, and per zip entry for headers.
FILE_SLACK = 1024
#: Entries may hold up to this ratio of uncompressed to compressed bytes ...
MAX_RATIO = 100
#: ... unless they are no larger than this or than a legitimate file (a constant prediction
#: deflates about as well as a zip bomb, so only the size tells them apart).
RATIO_MIN_BYTES = 1 << 20

#: Central-directory bytes allowed per entry (fixed part, name, extra field and comment).
MAX_DIRECTORY_RECORD = 512

_ARCHIVE = "<archive>"

Key = tuple[str, str, int]


class SubmissionError(ValueError):
    """A submission that cannot be scored; ``problems`` lists every (path, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "\n".join(f"{path}: {reason}" for path, reason in problems)
        super().__init__(f"{len(problems)} problem(s) in the submission:\n{lines}")


@dataclass(frozen=True)
class Limits:
    """Caps derived from the expected submission."""

    entries: int
    file_bytes: int
    total_bytes: int
    archive_bytes: int
    ratio_min_bytes: int

    @classmethod
    def for_expected(cls, expected: Expected) -> Limits:
        file_bytes = expected.n_points * BYTES_PER_VALUE + FILE_SLACK
        total = expected.n_files * file_bytes
        entries = 4 * expected.n_files + 64
        archive = total + entries * 2 * FILE_SLACK
        return cls(entries, file_bytes, total, archive, max(RATIO_MIN_BYTES, file_bytes))


def _path_pattern(expected: Expected) -> re.Pattern[str]:
    track = re.escape(expected.track)
    return re.compile(
        rf"(?:{track}/)?{track}_([a-z0-9-]+)/([a-z]+)/model_(0|[1-9][0-9]*)/prediction\.csv"
    )


class _Reader:
    """One pass over a zip's entries, collecting values and problems."""

    def __init__(self, data: bytes, expected: Expected, limits: Limits) -> None:
        self.data, self.expected, self.limits = data, expected, limits
        self.pattern = _path_pattern(expected)
        self.models = {phase: set(indices) for phase, indices in expected.models.items()}
        self.values: dict[Key, NDArray[np.float64]] = {}
        self.seen: dict[Key, str] = {}
        self.problems: list[tuple[str, str]] = []

    def key(self, name: str) -> Key | str | None:
        """The entry's (scenario, phase, model), None to skip it, or why it is unexpected."""
        match = self.pattern.fullmatch(name)
        if match is None:
            return "unexpected file"
        scenario, phase, model = match.group(1), match.group(2), int(match.group(3))
        if scenario not in self.expected.scenarios:
            return f"unexpected file: no scenario {scenario!r} in this track"
        if phase not in PHASES:
            return f"unexpected file: no phase {phase!r}"
        if phase not in self.expected:
            return None
        if model not in self.models[phase]:
            return f"unexpected file: no model {model} in phase {phase}"
        return scenario, phase, model

    def entry(self, info: zipfile.ZipInfo, *, read: bool) -> None:
        """Check one entry's header and, if ``read`` and it is sound, parse its values."""
        name, bad_name = entry_name(info)
        unsafe = unsafe_reason(name)
        if bad_name is None and unsafe is None and ignored(name):
            return
        reasons = [reason for reason in (bad_name, unsafe) if reason]
        if stat.S_ISLNK(info.external_attr >> 16):
            reasons.append("symbolic link")
        if info.flag_bits & 0x1:
            reasons.append("encrypted entry")
        if name.lower().endswith(NESTED_SUFFIXES):
            reasons.append("nested archive")
        key = None
        if not (bad_name or unsafe):
            found = self.key(name)
            if isinstance(found, str):
                reasons.append(found)
            elif found in self.seen:
                reasons.append(f"duplicate entry (also {self.seen[found]})")
            elif found is not None:
                self.seen[found] = name
                key = found
        if info.file_size > self.limits.file_bytes:
            reasons.append(
                f"uncompressed size {info.file_size} bytes exceeds {self.limits.file_bytes}"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > self.limits.ratio_min_bytes and ratio > MAX_RATIO:
            reasons.append(f"compression ratio {ratio:.0f}:1 is typical of a zip bomb")
        self.problems += [(name, reason) for reason in reasons]
        if key is not None and not reasons and read:
            self.read(info, name, key)

    def read(self, info: zipfile.ZipInfo, name: str, key: Key) -> None:
        cap = self.limits.file_bytes
        try:
            data = inflate(self.data, info, cap)
        except CorruptEntry as error:
            self.problems.append((name, f"corrupt entry: {error}"))
            return
        if len(data) > cap:
            self.problems.append((name, f"uncompressed size exceeds {cap} bytes"))
        elif data.startswith(NESTED_MAGIC):
            self.problems.append((name, "nested archive"))
        else:
            values, reasons = parse_values(data, count=self.expected.n_points)
            self.problems += [(name, reason) for reason in reasons]
            if values is not None:
                self.values[key] = values


def _open(source: bytes | str | Path, limits: Limits) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        size = path.stat().st_size
        if size > limits.archive_bytes:
            raise SubmissionError([(_ARCHIVE, f"{size} bytes, more than {limits.archive_bytes}")])
        data = path.read_bytes()
    if len(data) > limits.archive_bytes:
        raise SubmissionError([(_ARCHIVE, f"{len(data)} bytes, more than {limits.archive_bytes}")])
    return data


def read_submission(
    source: bytes | str | Path, expected: Expected
) -> dict[Key, NDArray[np.float64]]:
    """Read and validate a submission zip entirely in memory.

    Parameters
    ----------
    source : bytes or path
        The zip archive's bytes, or a path to it.
    expected : Expected
        Scenarios, phases, models and 2m the submission must cover.

    Returns
    -------
    dict
        ``(scenario, phase, model) -> ndarray of shape (n_points,)``, one per expected model.
        Files of a phase that ``expected`` does not list (a solutions tree holding only the
        dev phase) are skipped without being read.

    Raises
    ------
    SubmissionError
        With ``problems``, every (path, reason): missing model, unexpected file, wrong count,
        non-number, NaN/inf, value outside [0, 1], duplicate entry, absolute path or '..',
        symbolic link, nested archive, non-UTF-8 name, encrypted or corrupt entry, too many
        entries or bytes for the expected submission, and zip-bomb compression ratios.
    """
    limits = Limits.for_expected(expected)
    data = _open(source, limits)
    announced = directory_size(data)
    if announced is not None and announced[0] > limits.entries:
        raise SubmissionError([(_ARCHIVE, f"{announced[0]} entries, more than {limits.entries}")])
    if announced is not None and announced[1] > limits.entries * MAX_DIRECTORY_RECORD:
        message = f"central directory of {announced[1]} bytes is too large for {limits.entries}"
        raise SubmissionError([(_ARCHIVE, f"{message} entries")])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except UnicodeDecodeError:
        reason = "an entry name flagged as UTF-8 is not valid UTF-8"
        raise SubmissionError([(_ARCHIVE, reason)]) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        raise SubmissionError([(_ARCHIVE, f"not a valid zip archive: {error}")]) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.entries:
            raise SubmissionError([(_ARCHIVE, f"{len(infos)} entries, more than {limits.entries}")])
        total = sum(info.file_size for info in infos)
        reader = _Reader(data, expected, limits)
        if total > limits.total_bytes:
            message = f"{total} uncompressed bytes, more than {limits.total_bytes}"
            reader.problems.append((_ARCHIVE, message))
        for info in infos:
            reader.entry(info, read=total <= limits.total_bytes)
    for key in expected.model_keys():
        if key not in reader.seen:
            reader.problems.append((expected.path(*key), "missing"))
    if reader.problems:
        raise SubmissionError(reader.problems)
    return reader.values


def read_solutions(root: str | Path, expected: Expected) -> dict[Key, NDArray[np.float64]]:
    """Load the ``solution.csv`` of every expected model from a MICO-style solutions tree.

    Parameters
    ----------
    root : path
        Holds ``<track>/<track>_<scenario>/<phase>/model_<i>/solution.csv`` (or is the track
        folder itself).
    expected : Expected

    Returns
    -------
    dict
        ``(scenario, phase, model) -> ndarray of shape (n_points,)`` of 0.0/1.0.

    Raises
    ------
    ValueError
        Listing every missing or malformed solution.
    """
    base = Path(root)
    if not (base / expected.track).is_dir() and base.name == expected.track:
        base = base.parent
    labels: dict[Key, NDArray[np.float64]] = {}
    problems = []
    for key in expected.model_keys():
        path = os.path.join(base, expected.folder(*key), "solution.csv")
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            problems.append(f"{path}: {error.strerror or error}")
            continue
        values, reasons = parse_labels(data, count=expected.n_points)
        if values is None:
            problems += [f"{path}: {reason}" for reason in reasons]
        else:
            labels[key] = values
    if problems:
        raise ValueError("invalid solutions:\n" + "\n".join(problems))
    return labels
