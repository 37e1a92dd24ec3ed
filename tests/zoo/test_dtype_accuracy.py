"""bfloat16 trains the demo tracks as well as float32: held-out accuracy within 0.03 (the
mean over the same models, same seeds). DP on Purchase and plain training on Digits here; every
scenario of both tracks is in the README's table (bench/dtype_accuracy.py)."""

import tempfile
from pathlib import Path

import pytest
import torch

from benchmark.zoo.build import Chunk, build_chunk
from benchmark.zoo.device import Compute
from benchmark.zoo.tracks import load_track

TRACKS = Path(__file__).resolve().parents[2] / "tracks"
TOLERANCE = 0.03


@pytest.mark.slow
@pytest.mark.parametrize(
    ("track", "scenario", "models"),
    [("demo-purchase", "hi", 2), ("demo-digits", "inf", 4)],
)
def test_bfloat16_and_float32_reach_the_same_held_out_accuracy(track, scenario, models):
    spec = load_track(TRACKS / f"{track}.toml")
    chunk = Chunk(scenario, "train", tuple(range(models)))
    accuracy = {}
    for dtype in ("float32", "bfloat16"):
        compute = Compute(torch.device("cpu"), dtype)
        forced = _with_dtype(spec, dtype)
        records = build_chunk(forced, chunk, tempfile.mkdtemp(), compute=compute)
        assert {record.dtype for record in records} == {dtype}
        accuracy[dtype] = sum(record.eval_acc for record in records) / models
    assert accuracy["bfloat16"] == pytest.approx(accuracy["float32"], abs=TOLERANCE), accuracy


def _with_dtype(spec, dtype):
    import dataclasses

    scenarios = tuple(
        dataclasses.replace(s, training=dataclasses.replace(s.training, dtype=dtype))
        for s in spec.scenarios
    )
    defaults = dataclasses.replace(spec.train_defaults, dtype=dtype)
    return dataclasses.replace(spec, scenarios=scenarios, train_defaults=defaults)
