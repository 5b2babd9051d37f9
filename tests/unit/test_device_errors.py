"""The device running out of memory is named DeviceOutOfMemory (retryable); other torch errors pass as they are."""

import pytest
import torch

from services.errors import DeviceOutOfMemory, RetryableError
from workers.device import device_memory_errors


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"),
        RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported"),
    ],
)
def test_out_of_memory_becomes_device_out_of_memory(error: RuntimeError):
    expected = r"^drawing: the device ran out of memory \("
    with pytest.raises(DeviceOutOfMemory, match=expected) as caught, device_memory_errors("drawing"):
        raise error
    assert isinstance(caught.value, RetryableError) and caught.value.__cause__ is error
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("error", [RuntimeError("mat1 and mat2 shapes cannot be multiplied"), ValueError("x")])
def test_other_errors_pass_unchanged(error: Exception):
    with pytest.raises(type(error)) as caught, device_memory_errors("drawing"):
        raise error
    assert caught.value is error
