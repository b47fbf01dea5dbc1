"""Which compute device to use, and how to name it to a person."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def pick_device(override: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU; ``override`` names one of them (or ``auto``).

    Raises:
        ValueError: when the named device is not available on this machine.
    """
    override = (override or "auto").lower()
    if override not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}, got {override!r}")
    mps = getattr(torch.backends, "mps", None)
    available = {"cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available()), "cpu": True}
    if override == "auto":
        return torch.device(next(name for name in ("cuda", "mps", "cpu") if available[name]))
    if not available[override]:
        raise ValueError(f"device {override!r} is not available on this machine")
    return torch.device(override)


def describe_device(device: torch.device | str | None = None) -> str:
    """'CUDA: <GPU name>', 'Apple MPS' or 'CPU (N threads)'."""
    device = torch.device(device) if device is not None else pick_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
