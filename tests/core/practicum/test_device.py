"""Device choice: CUDA, then MPS, then CPU; a named device that is missing is a clear error."""

import pytest
import torch

from core.practicum.device import describe_device, pick_device


def test_auto_picks_the_best_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device().type == "cpu"


def test_missing_or_unknown_devices_are_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="not available"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="must be one of"):
        pick_device("tpu")



def test_devices_are_named_for_a_person(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert describe_device("cpu") == "CPU (2 threads)"  # written out, not the code's own format string
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    assert describe_device("cuda") == "CUDA: NVIDIA H200"
    assert describe_device("mps") == "Apple MPS"
