"""Parsing ``prediction.csv`` and ``solution.csv`` bytes into float arrays, with reasons.

A file holds one comma-separated row (what MICO's starting kit writes with
``csv.writer(f).writerow(...)``) or one value per line; surrounding whitespace and a trailing
newline are fine, and so are ``#`` comments: from a ``#`` to the end of its line is dropped, as
``np.loadtxt`` (which MICO's scoring program reads files with) drops it. Parsing never raises on
bad content: it returns the list of reasons instead, so a submission's every problem can be
reported at once.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray


def strip_comments(data: bytes) -> bytes:
    """``data`` without its ``#`` comments (each to the end of its line), as ``np.loadtxt``.

    Examples
    --------
    >>> strip_comments(b"# attack: loss\\n0.25,0.5 # tuned\\n")
    b'\\n0.25,0.5 '
    """
    if b"#" not in data:
        return data
    return b"\n".join(line.partition(b"#")[0] for line in data.splitlines())


def split_values(data: bytes) -> list[bytes]:
    """The value tokens of a file: comments dropped, then split at commas if it has any, else
    at whitespace."""
    text = strip_comments(data).strip()
    if not text:
        return []
    return text.split(b",") if b"," in text else text.split()


def _describe(token: bytes) -> str:
    shown = token.strip()[:20].decode("ascii", errors="replace")
    return repr(shown)


def _count(n: int, what: str) -> str:
    return f"{n} value{'s' if n != 1 else ''} {what}"


def explain_tokens(tokens: list[bytes], *, unit_interval: bool) -> list[str]:
    """Every reason the tokens are not all finite numbers (in [0, 1] if ``unit_interval``).

    One reason per kind of problem, giving how many values have it and the first of them by
    its 0-based index, the convention of every message of this package (and of numpy).
    """
    bad_number: list[int] = []
    not_finite: list[int] = []
    outside: list[int] = []
    values: list[float] = []
    for position, token in enumerate(tokens):
        try:
            value = float(token)
        except ValueError:
            bad_number.append(position)
            values.append(math.nan)
            continue
        values.append(value)
        if not math.isfinite(value):
            not_finite.append(position)
        elif unit_interval and not 0 <= value <= 1:
            outside.append(position)
    reasons = []
    if bad_number:
        first = bad_number[0]
        reasons.append(
            f"{_count(len(bad_number), 'not a number')} "
            f"(first: index {first}, {_describe(tokens[first])})"
        )
    if not_finite:
        first = not_finite[0]
        reasons.append(
            f"{_count(len(not_finite), 'NaN or infinite')} "
            f"(first: index {first}, {_describe(tokens[first])})"
        )
    if outside:
        first = outside[0]
        shown = values[first]
        reasons.append(
            f"{_count(len(outside), 'outside [0, 1]')} (first: index {first}, {shown!r})"
        )
    return reasons


def parse_values(
    data: bytes, *, count: int, unit_interval: bool = True
) -> tuple[NDArray[np.float64] | None, list[str]]:
    """Parse one file's values.

    Parameters
    ----------
    data : bytes
        The file's content.
    count : int
        How many values the file must hold (2m).
    unit_interval : bool
        Whether values must lie in [0, 1].

    Returns
    -------
    values : ndarray of shape (count,) or None
        None when there is any problem.
    reasons : list of str
        Every problem found, empty when ``values`` is returned.

    Examples
    --------
    >>> parse_values(b"0.25,0.5,1\\r\\n", count=3)[0].tolist()
    [0.25, 0.5, 1.0]
    >>> for reason in parse_values(b"0.5\\nx\\n2", count=4)[1]:
    ...     print(reason)
    expected 4 values, found 3
    1 value not a number (first: index 1, 'x')
    1 value outside [0, 1] (first: index 2, 2.0)
    """
    tokens = split_values(data)
    reasons = [] if len(tokens) == count else [f"expected {count} values, found {len(tokens)}"]
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        return None, reasons + explain_tokens(tokens, unit_interval=unit_interval)
    # One pass: NaN fails both comparisons and infinities fail one.
    sound = ((values >= 0) & (values <= 1)).all() if unit_interval else np.isfinite(values).all()
    if not sound:
        reasons += explain_tokens(tokens, unit_interval=unit_interval)
    return (None, reasons) if reasons else (values, [])


def parse_labels(data: bytes, *, count: int) -> tuple[NDArray[np.float64] | None, list[str]]:
    """Parse a ``solution.csv``: ``count`` labels, each 0 or 1, as floats.

    The common layout (single digits separated by commas) is read without splitting; anything
    else goes through :func:`parse_values`.

    Examples
    --------
    >>> parse_labels(b"0,1,1,0\\r\\n", count=4)[0].tolist()
    [0.0, 1.0, 1.0, 0.0]
    >>> parse_labels(b"0,1,0.5", count=3)[1]
    ['labels must be 0 or 1']
    """
    text = data.strip()
    if len(text) == 2 * count - 1:
        chars = np.frombuffer(text, dtype=np.uint8)
        digits = chars[::2] - ord("0")
        if (chars[1::2] == ord(",")).all() and (digits <= 1).all():
            return digits.astype(np.float64), []
    values, reasons = parse_values(data, count=count)
    if values is not None and not ((values == 0) | (values == 1)).all():
        return None, ["labels must be 0 or 1"]
    return values, reasons
