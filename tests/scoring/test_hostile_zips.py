"""Every hostile zip is refused with its reason, and reading it keeps memory bounded."""

import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest

from scoring import Expected, SubmissionError, read_submission, read_submission_with_notices
from scoring.testing import make_labels, make_predictions, prediction_csv

EXPECTED = Expected("purchase100", ("hi",), {"dev": (100, 101)}, 200)
GOOD = {
    f"purchase100/purchase100_hi/dev/model_{m}/prediction.csv": prediction_csv(values)
    for (_, _, m), values in make_predictions(
        make_labels(scenarios=("hi",), models={"dev": [100, 101]})
    ).items()
}
FIRST, SECOND = GOOD
#: Reading any of these zips must stay far below what their headers claim.
MEMORY_BOUND = 8 << 20


def build(entries=(), *, keep=True, compression=zipfile.ZIP_STORED):
    """A zip of the good entries (if ``keep``) plus ``entries``: (name or ZipInfo, bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in (*(GOOD.items() if keep else ()), *entries):
            archive.writestr(name, data)
    return buffer.getvalue()


def patch_central(data, name, offset, fmt, value):
    """Overwrite a field of ``name``'s central directory record (header lies)."""
    start = 0
    while True:
        start = data.index(b"PK\x01\x02", start)
        length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + length] == name.encode():
            break
        start += 4
    patched = bytearray(data)
    struct.pack_into(fmt, patched, start + offset, value)
    return bytes(patched)


def rename_raw(data, old, new):
    """Replace an entry's name bytes (local and central headers) without touching flags."""
    assert len(old) == len(new)
    return data.replace(old, new)


def streamed_bomb(size):
    """A deflated prediction.csv of ``size`` zero bytes, written without holding it in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in GOOD.items():
            if name != FIRST:
                archive.writestr(name, data)
        with archive.open(FIRST, "w", force_zip64=True) as handle:
            chunk = b"0" * (1 << 20)
            for _ in range(size // len(chunk)):
                handle.write(chunk)
    return buffer.getvalue()


def refused(data, expected=EXPECTED):
    """Read ``data`` under tracemalloc; return the problems and the peak memory."""
    tracemalloc.start()
    try:
        with pytest.raises(SubmissionError) as caught:
            read_submission(data, expected)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND
    return caught.value.problems


def assert_reason(problems, path, reason):
    assert any(p == path and reason in why for p, why in problems), problems


def symlink_info(name):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


def test_good_zip_passes_under_the_same_memory_bound():
    tracemalloc.start()
    try:
        assert len(read_submission(build(), EXPECTED)) == 2
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND


def test_constant_deflated_submission_passes():
    constant = {name: prediction_csv(["0.5"] * 200) for name in GOOD}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in constant.items():
            archive.writestr(name, data)
    assert len(read_submission(buffer.getvalue(), EXPECTED)) == 2


@pytest.mark.parametrize(
    ("make", "path", "reason"),
    [
        (lambda: build(keep=False, entries=[(FIRST, GOOD[FIRST])]), SECOND, "missing"),
        (
            lambda: build([("purchase100/extra.zip", b"1")]),
            "purchase100/extra.zip",
            "nested archive",
        ),
        (lambda: build([(FIRST, GOOD[FIRST])]), FIRST, "duplicate entry"),
        (
            lambda: build([(FIRST.removeprefix("purchase100/"), GOOD[FIRST])]),
            FIRST.removeprefix("purchase100/"),
            "duplicate entry",
        ),
        (lambda: build([("/etc/passwd", b"x")]), "/etc/passwd", "absolute path"),
        (lambda: build([("C:/evil.csv", b"x")]), "C:/evil.csv", "absolute path"),
        (
            lambda: build([("purchase100/../../evil.csv", b"x")]),
            "purchase100/../../evil.csv",
            "path escapes the archive",
        ),
        (lambda: build([("purchase100\\evil.csv", b"x")]), "purchase100\\evil.csv", "backslash"),
        (
            lambda: build([(symlink_info("purchase100/link"), b"/etc/passwd")]),
            "purchase100/link",
            "symbolic link",
        ),
        (
            lambda: build([("purchase100/inner.zip", build())]),
            "purchase100/inner.zip",
            "nested archive",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_hostile_entries_are_refused_with_their_reason(make, path, reason):
    assert_reason(refused(make()), path, reason)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"0.5," * 198 + b"0.5", "expected 200 values, found 199"),
        (b"0.5," * 199 + b"zero", "1 value not a number (first: index 199, 'zero')"),
        (b"nan," + b"0.5," * 198 + b"inf", "2 values NaN or infinite (first: index 0, 'nan')"),
        (b"0.5," * 199 + b"1.0001", "1 value outside [0, 1] (first: index 199, 1.0001)"),
        (b"-0.0," * 199 + b"-1e-9", "1 value outside [0, 1] (first: index 199, -1e-09)"),
    ],
)
def test_bad_values_are_refused_with_their_reason(content, reason):
    data = build(keep=False, entries=[(FIRST, content), (SECOND, GOOD[SECOND])])
    assert refused(data) == [(FIRST, reason)]


def test_nested_archive_disguised_as_a_prediction_is_refused():
    data = build(keep=False, entries=[(FIRST, build()), *list(GOOD.items())[1:]])
    assert_reason(refused(data), FIRST, "nested archive")


def test_symlink_in_place_of_a_prediction_is_refused_without_a_missing_report():
    entries = [(symlink_info(FIRST), b"/etc/passwd"), *list(GOOD.items())[1:]]
    problems = refused(build(keep=False, entries=entries))
    assert problems == [(FIRST, "symbolic link")]


def test_hostile_entries_are_refused_whatever_their_name_would_score():
    """The rules that refuse an entry come before the ones that would merely not score it."""
    extras = [
        (symlink_info("purchase100/purchase100_hi/train/model_0/prediction.csv"), b"/etc"),
        ("purchase100/purchase100_hi/train/../../escape.csv", b"x"),
        ("purchase100/notes.tar.gz", b"x"),
    ]
    problems = refused(build(extras))
    assert [path for path, _ in problems] == [
        "purchase100/purchase100_hi/train/model_0/prediction.csv",
        "purchase100/purchase100_hi/train/../../escape.csv",
        "purchase100/notes.tar.gz",
    ]


def test_a_bomb_that_would_not_be_scored_is_refused_and_never_inflated():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in GOOD.items():
            archive.writestr(name, data)
        with archive.open("purchase100/README.md", "w", force_zip64=True) as handle:
            for _ in range(64):
                handle.write(b"0" * (1 << 20))
    problems = refused(buffer.getvalue())
    assert_reason(problems, "purchase100/README.md", "typical of a zip bomb")
    assert_reason(problems, "<archive>", "uncompressed bytes, more than")


def test_an_unscored_file_is_never_inflated_nor_held_to_a_predictions_size():
    """A harmless extra larger than a prediction may be (a README, say) is noticed, not read:
    its CRC-32 is wrong, which any read would report."""
    readme = b"# How we attacked\n" + b"words " * 4000
    data = build([("purchase100/README.md", readme)], compression=zipfile.ZIP_DEFLATED)
    data = patch_central(data, "purchase100/README.md", 16, "<I", zlib.crc32(readme) ^ 1)
    values, notices = read_submission_with_notices(data, EXPECTED)
    assert len(readme) > 200 * 40 + 1024 and len(values) == 2
    assert notices == [
        ("purchase100/README.md", "not scored: not a prediction.csv of track purchase100")
    ]


def test_non_utf8_name_is_refused():
    data = rename_raw(build([("purchase100/XXXX.csv", b"1")]), b"XXXX", b"caf\xe9")
    assert_reason(refused(data), "purchase100/caf\\xe9.csv", "name is not valid UTF-8")


def test_name_flagged_utf8_but_invalid_is_refused():
    data = build([("purchase100/\u00e9t\u00e9.csv", b"1")])
    data = data.replace("\u00e9t\u00e9".encode(), b"\xff\xfe\xff\xfe\xff")
    assert_reason(refused(data), "<archive>", "UTF-8")


def test_too_many_entries_are_refused_before_parsing():
    entries = [(f"purchase100/junk/{i}", b"") for i in range(200)]
    problems = refused(build(entries))
    assert problems == [("<archive>", "202 entries, more than 72")]


def test_central_directory_larger_than_its_announced_entries_is_refused_unparsed():
    entries = [(f"purchase100/junk/{i:03}" + "x" * 600, b"") for i in range(60)]
    data = build(entries, keep=False)
    end = data.rindex(b"PK\x05\x06")
    directory = end - data.index(b"PK\x01\x02")
    # The end record claims 2 entries; the directory it points at holds 60 long names.
    data = data[: end + 8] + struct.pack("<HH", 2, 2) + data[end + 12 :]
    problems = refused(data)
    reason = f"central directory of {directory} bytes is too large for 72 entries"
    assert problems == [("<archive>", reason)]


def test_too_many_uncompressed_bytes_are_refused():
    entries = [(f"purchase100/junk/{i}.csv", b"0" * 9000) for i in range(5)]
    problems = refused(build(entries))
    assert_reason(problems, "<archive>", "uncompressed bytes, more than")


def test_oversized_prediction_is_refused():
    assert_reason(refused(build([(FIRST, b"0.5," * 5000)], keep=False)), FIRST, "exceeds")


def test_zip_bomb_is_refused_by_its_ratio_and_never_inflated():
    problems = refused(streamed_bomb(64 << 20))
    assert_reason(problems, FIRST, "typical of a zip bomb")
    assert_reason(problems, FIRST, "uncompressed size 67108864 bytes exceeds")


def test_header_claiming_a_small_size_cannot_inflate_more():
    bomb = streamed_bomb(16 << 20)
    lying = patch_central(bomb, FIRST, 24, "<I", 1000)
    lying = patch_central(lying, FIRST, 20, "<I", 1000)
    assert_reason(refused(lying), FIRST, "corrupt entry")


def test_header_claiming_a_huge_size_is_refused_unread():
    data = patch_central(build(), FIRST, 24, "<I", 0x7FFFFFF0)
    assert_reason(refused(data), FIRST, "exceeds")


def test_encrypted_entry_is_refused():
    data = patch_central(build(), FIRST, 8, "<H", 0x1)
    assert_reason(refused(data), FIRST, "encrypted entry")


@pytest.mark.parametrize("data", [b"", b"hello", b"PK\x03\x04garbage", build()[:-30]])
def test_not_a_zip_is_refused(data):
    assert_reason(refused(data), "<archive>", "not a valid zip archive")


def test_archive_file_larger_than_any_valid_submission_is_refused_unread(tmp_path):
    path = tmp_path / "big.zip"
    with path.open("wb") as handle:
        handle.truncate(64 << 20)
    assert_reason(refused(path), "<archive>", "bytes, more than")
