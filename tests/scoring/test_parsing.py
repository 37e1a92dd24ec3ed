import doctest
import importlib
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.parsing import parse_labels, parse_values
from scoring.testing import prediction_csv

unit_floats = st.floats(0, 1, allow_subnormal=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(unit_floats, min_size=1, max_size=50), st.sampled_from(["row", "column"]))
def test_written_values_parse_back_exactly(values, layout):
    if layout == "row":
        data = prediction_csv([repr(v) for v in values])
    else:
        data = ("\r\n".join(f" {v!r}\t" for v in values) + "\n").encode()
    parsed, reasons = parse_values(data, count=len(values))
    assert reasons == []
    np.testing.assert_array_equal(parsed, values)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(), st.text(max_size=5).filter(lambda text: "#" not in text)),
        min_size=1,
        max_size=20,
    )
)
def test_parsing_agrees_with_python_float_or_explains_why(tokens):
    text = [str(t) for t in tokens]
    data = ",".join(text).encode("utf-8")
    parsed, reasons = parse_values(data, count=len(text))
    try:
        floats = [float(t) for t in data.split(b",")]
    except ValueError:
        floats = None
    if (
        floats is not None
        and len(floats) == len(text)
        and all(math.isfinite(f) and 0 <= f <= 1 for f in floats)
    ):
        assert reasons == []
        np.testing.assert_array_equal(parsed, floats)
    else:
        assert parsed is None and reasons


comments = st.text(max_size=10).filter(lambda text: not {"\r", "\n"} & set(text))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(unit_floats, min_size=1, max_size=20),
    st.sampled_from(["row", "column"]),
    st.lists(comments, max_size=3),
    comments,
)
def test_comments_are_dropped_as_numpy_loadtxt_drops_them(values, layout, before, trailing):
    """Comment lines before the values and a comment after them change nothing, and numpy's
    ``loadtxt(delimiter=",")`` (MICO's reader) reads the same file to the same values."""
    body = ",".join(map(repr, values)) if layout == "row" else "\n".join(map(repr, values))
    text = "".join(f"#{line}\n" for line in before) + f"{body} #{trailing}\n"
    parsed, reasons = parse_values(text.encode(), count=len(values))
    assert reasons == []
    np.testing.assert_array_equal(parsed, values)
    loaded = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=1)
    np.testing.assert_array_equal(loaded.ravel(), values)


def test_a_solution_with_comments_parses():
    assert parse_labels(b"# membership\n0,1,1,0 # m = 2\n", count=4)[0].tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize(
    ("data", "reasons"),
    [
        (b"", ["expected 2 values, found 0"]),
        (b"# nothing but a comment\n", ["expected 2 values, found 0"]),
        (b"0.1,,0.2", ["expected 2 values, found 3", "1 value not a number (first: index 1, '')"]),
        (b"0.1,0.2,", ["expected 2 values, found 3", "1 value not a number (first: index 2, '')"]),
        (
            b"0.1;0.2",
            ["expected 2 values, found 1", "1 value not a number (first: index 0, '0.1;0.2')"],
        ),
        (b"nan,inf", ["2 values NaN or infinite (first: index 0, 'nan')"]),
        (b"-0.5,7", ["2 values outside [0, 1] (first: index 0, -0.5)"]),
        (
            b"0.1,0.2\n0.3,0.4",
            ["expected 2 values, found 3", "1 value not a number (first: index 1, '0.2\\n0.3')"],
        ),
    ],
)
def test_malformed_files_are_explained(data, reasons):
    assert parse_values(data, count=2) == (None, reasons)


@pytest.mark.parametrize(
    "module",
    [
        "scoring.metrics",
        "scoring.parsing",
        "scoring.expected",
        "scoring.audit",
        "scoring.figures",
        "scoring.submission",
        "scoring.codalab",
    ],
)
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0


def test_zip_values_and_the_scoring_call_count_from_zero_alike():
    import scoring

    with pytest.raises(ValueError, match=r"at index 2$"):
        scoring.score([0, 1, 0, 1], [0.1, 0.2, float("nan"), 0.4])
    _, reasons = parse_values(b"0.1,0.2,nan,0.4", count=4)
    assert reasons == ["1 value NaN or infinite (first: index 2, 'nan')"]
