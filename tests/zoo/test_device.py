"""Device and dtype decided in one place: auto means CUDA when present, bfloat16 where the
hardware runs it natively (read from the CPU's flags), float32 elsewhere."""

import pytest
import torch

from benchmark.zoo import device as zdevice


def test_native_bfloat16_on_the_cpu_agrees_with_the_cpu_flags():
    flags = zdevice.cpu_flags()
    assert flags, "/proc/cpuinfo lists the CPU's flags on Linux"
    native = bool({"avx512_bf16", "amx_bf16"} & flags)
    assert zdevice.cpu_has_native_bfloat16() is native


def test_auto_dtype_is_bfloat16_exactly_where_it_is_native():
    cpu = torch.device("cpu")
    expected = "bfloat16" if zdevice.cpu_has_native_bfloat16() else "float32"
    assert zdevice.resolve_dtype("auto", cpu) == expected
    assert zdevice.resolve_dtype("float32", cpu) == "float32"
    assert zdevice.resolve_dtype("bfloat16", cpu) == "bfloat16"
    with pytest.raises(ValueError, match="dtype must be one of auto, float32, bfloat16"):
        zdevice.resolve_dtype("float16", cpu)


def test_auto_device_is_cuda_when_present_and_cuda_without_one_is_refused():
    assert zdevice.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert zdevice.resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
            zdevice.resolve_device("cuda")
    with pytest.raises(ValueError, match="device must be one of"):
        zdevice.resolve_device("tpu")


def test_a_worker_shares_its_cores_among_its_slots():
    before = torch.get_num_threads()
    try:
        assert zdevice.use_cores(slots=1) == zdevice.cores() == torch.get_num_threads()
        assert zdevice.use_cores(slots=zdevice.cores() * 2) == 1
        assert zdevice.use_cores(threads=3) == 3 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_compute_describes_what_ran():
    compute = zdevice.Compute.resolve(device="cpu", dtype="float32")
    assert compute.describe().startswith("cpu (float32, ")
