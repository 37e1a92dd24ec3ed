"""Reading submission zips safely, in memory, and the solutions they are scored against.

Nothing is extracted to disk. Every size is checked against caps derived from what the track
expects before anything is decompressed, and every read is bounded, so memory stays bounded
whatever the zip's headers claim. Every problem is collected (path, reason) and reported at once.

Files that are not scored but do no harm (predictions of train models, a README, predictions
of a phase or model the track does not have) are not refused, as MICO's scoring program does
not refuse them: they are never decompressed, and each is reported as a notice (path, reason)
beside the predictions. Hostile entries stay refused whatever their name: absolute paths, '..',
symbolic links, nested archives, encrypted entries, zip bombs, too many entries or bytes.
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
#: Uncompressed bytes allowed beyond the scored files, as a multiple of theirs: room for as
#: many unscored files as scored ones (MICO's train predictions: 100 models, as many as dev
#: and final together).
UNSCORED_ALLOWANCE = 1

#: How every unscored file's reason starts.
NOT_SCORED = "not scored: "

_ARCHIVE = "<archive>"

Key = tuple[str, str, int]
Values = dict[Key, NDArray[np.float64]]
#: (path, reason) of a file that is not scored; the reason starts with :data:`NOT_SCORED`.
Notice = tuple[str, str]


class SubmissionError(ValueError):
    """A submission that cannot be scored.

    ``problems`` lists every (path, reason) that refuses it; ``notices`` the files that were
    not scored (which refuse nothing, but may explain a problem, e.g. a misnamed file beside a
    missing one).
    """

    def __init__(self, problems: list[tuple[str, str]], notices: list[Notice] | None = None):
        self.problems = problems
        self.notices = list(notices or [])
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
        total = (1 + UNSCORED_ALLOWANCE) * expected.n_files * file_bytes
        entries = 4 * expected.n_files + 64
        archive = total + entries * 2 * FILE_SLACK
        return cls(entries, file_bytes, total, archive, max(RATIO_MIN_BYTES, file_bytes))


class _Paths:
    """Which file of a submission is which: scored, skipped, or not scored (and why)."""

    def __init__(self, expected: Expected) -> None:
        self.expected = expected
        track = re.escape(expected.track)
        self.pattern = re.compile(
            rf"(?:{track}/)?([a-z0-9_-]+)/([a-z]+)/model_(0|[1-9][0-9]*)/prediction\.csv"
        )
        self.models = {phase: set(indices) for phase, indices in expected.models.items()}

    def key(self, name: str) -> Key | str | None:
        """The file's (scenario, phase, model); None to skip it unread (a phase the expected
        submission does not score here); or the notice's reason it is not scored."""
        match = self.pattern.fullmatch(name)
        if match is None:
            return f"{NOT_SCORED}not a prediction.csv of track {self.expected.track}"
        folder, phase, model = match.group(1), match.group(2), int(match.group(3))
        scenario = self.expected.scenario_of(folder)
        if scenario is None:
            prefix = f"{self.expected.track}_"
            name = folder.removeprefix(prefix) if folder.startswith(prefix) else folder
            return f"{NOT_SCORED}no scenario {name!r} in this track"
        if phase == "train":
            return f"{NOT_SCORED}a train model"
        if phase not in PHASES:
            return f"{NOT_SCORED}no phase {phase!r}"
        if phase not in self.expected:
            return None
        if model not in self.models[phase]:
            return f"{NOT_SCORED}no model {model} in phase {phase}"
        return scenario, phase, model


class _Collector:
    """What a pass over a submission found: values, problems, notices, files seen."""

    def __init__(self, expected: Expected, limits: Limits) -> None:
        self.expected, self.limits = expected, limits
        self.paths = _Paths(expected)
        self.values: Values = {}
        self.seen: dict[Key, str] = {}
        self.problems: list[tuple[str, str]] = []
        self.notices: list[Notice] = []

    def classify(self, name: str, reasons: list[str]) -> Key | None:
        """The key to read ``name`` under, if it is a scored file; a duplicate adds a reason
        and an unscored file a notice (unless ``reasons`` already refuse it)."""
        found = self.paths.key(name)
        if isinstance(found, str):
            if not reasons:
                self.notices.append((name, found))
            return None
        if found is None:
            return None
        if found in self.seen:
            reasons.append(f"duplicate entry (also {self.seen[found]})")
            return None
        self.seen[found] = name
        return found

    def parse(self, name: str, key: Key, data: bytes) -> None:
        cap = self.limits.file_bytes
        if len(data) > cap:
            self.problems.append((name, f"uncompressed size exceeds {cap} bytes"))
        elif data.startswith(NESTED_MAGIC):
            self.problems.append((name, "nested archive"))
        else:
            values, reasons = parse_values(data, count=self.expected.n_points)
            self.problems += [(name, reason) for reason in reasons]
            if values is not None:
                self.values[key] = values

    def finish(self) -> tuple[Values, list[Notice]]:
        for key in self.expected.model_keys():
            if key not in self.seen:
                self.problems.append((self.expected.path(*key), "missing"))
        if self.problems:
            raise SubmissionError(self.problems, self.notices)
        return self.values, self.notices


class _Reader(_Collector):
    """One pass over a zip's entries."""

    def __init__(self, data: bytes, expected: Expected, limits: Limits) -> None:
        super().__init__(expected, limits)
        self.data = data

    def entry(self, info: zipfile.ZipInfo, *, read: bool) -> None:
        """Check one entry's header and, if ``read`` and it is sound, parse its values.

        Only scored entries are held to a prediction's size (they are the ones decompressed);
        every entry counts against the archive's totals and its compression ratio.
        """
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
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > self.limits.ratio_min_bytes and ratio > MAX_RATIO:
            reasons.append(f"compression ratio {ratio:.0f}:1 is typical of a zip bomb")
        key = None if (bad_name or unsafe) else self.classify(name, reasons)
        if key is not None and info.file_size > self.limits.file_bytes:
            reasons.append(
                f"uncompressed size {info.file_size} bytes exceeds {self.limits.file_bytes}"
            )
        self.problems += [(name, reason) for reason in reasons]
        if key is not None and not reasons and read:
            try:
                data = inflate(self.data, info, self.limits.file_bytes)
            except CorruptEntry as error:
                self.problems.append((name, f"corrupt entry: {error}"))
                return
            self.parse(name, key, data)


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


def read_submission(source: bytes | str | Path, expected: Expected) -> Values:
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
        dev phase) are skipped without being read; other unscored files are ignored (see
        :func:`read_submission_with_notices` for the list).

    Raises
    ------
    SubmissionError
        With ``problems``, every (path, reason): missing model, wrong count, non-number,
        NaN/inf, value outside [0, 1], duplicate entry, absolute path or '..', symbolic link,
        nested archive, non-UTF-8 name, encrypted or corrupt entry, too many entries or bytes
        for the expected submission, and zip-bomb compression ratios.
    """
    return read_submission_with_notices(source, expected)[0]


def read_submission_with_notices(
    source: bytes | str | Path, expected: Expected
) -> tuple[Values, list[Notice]]:
    """:func:`read_submission`, and the files it did not score.

    Returns
    -------
    values : dict
        As :func:`read_submission`.
    notices : list of (str, str)
        (path, reason) of every file that is neither scored nor refused nor clutter
        (directories, ``__MACOSX/``, dotfiles), in the archive's order; each reason starts with
        ``"not scored: "``, e.g. ``"not scored: a train model"``.

    Raises
    ------
    SubmissionError
        As :func:`read_submission`; its ``notices`` hold the unscored files found.

    Examples
    --------
    >>> from scoring.testing import make_predictions_zip
    >>> expected = Expected("p", ("inf",), {"dev": (1,)}, 2)
    >>> data = make_predictions_zip(
    ...     {("inf", "dev", 1): [0.2, 0.9], ("inf", "train", 0): [0.1, 0.3]},
    ...     track="p", phases=("train", "dev"))
    >>> values, notices = read_submission_with_notices(data, expected)
    >>> values[("inf", "dev", 1)].tolist(), notices
    ([0.2, 0.9], [('p/p_inf/train/model_0/prediction.csv', 'not scored: a train model')])
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
    return reader.finish()


def read_prediction_tree(root: str | Path, expected: Expected) -> tuple[Values, list[Notice]]:
    """Read and validate a submission already extracted to a folder (CodaLab's ``res/``).

    The same rules as :func:`read_submission_with_notices`, for files: paths are relative to
    ``root`` (with or without the leading ``<track>/``); symbolic links are refused and never
    followed; only scored files are opened, and never read past a prediction's size.

    Returns
    -------
    values, notices
        As :func:`read_submission_with_notices`.

    Raises
    ------
    SubmissionError
        Listing every problem.
    """
    base = Path(root)
    if not base.is_dir():
        raise SubmissionError([(str(base), "not a directory")])
    collector = _Collector(expected, Limits.for_expected(expected))
    for folder, subfolders, files in os.walk(base):
        here = Path(folder)
        for child in sorted(subfolders):
            name = (here / child).relative_to(base).as_posix()
            if (here / child).is_symlink():
                collector.problems.append((name, "symbolic link"))
                subfolders.remove(child)
            elif ignored(name + "/x"):
                subfolders.remove(child)
        subfolders.sort()
        for file in sorted(files):
            path = here / file
            name = path.relative_to(base).as_posix()
            _tree_file(collector, path, name)
    return collector.finish()


def _tree_file(collector: _Collector, path: Path, name: str) -> None:
    if ignored(name):
        return
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        collector.problems.append((shown, "name is not valid UTF-8"))
        return
    reasons = []
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        reasons.append("symbolic link")
    elif not stat.S_ISREG(info.st_mode):
        reasons.append("not a regular file")
    if name.lower().endswith(NESTED_SUFFIXES):
        reasons.append("nested archive")
    key = collector.classify(name, reasons)
    if key is not None and info.st_size > collector.limits.file_bytes:
        reasons.append(f"size {info.st_size} bytes exceeds {collector.limits.file_bytes}")
    collector.problems += [(name, reason) for reason in reasons]
    if key is not None and not reasons:
        with path.open("rb") as handle:
            collector.parse(name, key, handle.read(collector.limits.file_bytes + 1))


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
