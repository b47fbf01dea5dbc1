"""What a public link may cost this server: every bound a link, an upload or a text field is held to, in one
place, and the one reader of the environment variables that change them.

A shared link is public input. Each bound here is checked before the work it bounds starts (the layer list is
costed on PyTorch's meta device, a training from the models' shapes, a GIF from frames × canvas), and a value past
one is corrected with a notice or refused with a sentence. The README's "Running it for a class" table lists them.
A shared leaf of ``core``: it imports nothing of the lab.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass


def env_number(name: str, default: float) -> float:
    """A finite, non-negative number from the environment variable ``name``, else ``default`` (also for a value
    that is not a number, is negative, or is infinite)."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default


# ---- the anatomy page's layer-list language (core.nets.layers) ----
LAYER_FIELDS = {"out": 1024, "kernel": 64, "stride": 16, "padding": 32}  # the largest value of each field
LAYER_BUDGET = {"parameters": 20_000_000, "activations": 32_000_000, "work": 4_000_000_000}  # a whole list's cost

# ---- the stepper (core.lecture.stepper): each slider's range, and what a GIF may hold ----
STEPPER = {"size": (1, 16), "kernel": (1, 7), "stride": (1, 4), "padding": (0, 6), "dilation": (1, 4),
           "c_in": (1, 3), "c_out": (1, 4)}
STEPPER_STEPS = 400  # steps (and GIF frames) a setting may ask for
STEPPER_FILL = 9.0  # the constant padding's fill, either way
GIF_BYTES = 96 * 2 ** 20  # bytes of frames a GIF may hold (one byte a pixel): Pillow keeps every frame until it
# writes, and its encoding about doubles that; the peak stays near 300 MB

# ---- one run's settings (core.practicum.runs: a link's values are clamped into these, with a note); an upper
# bound of None is the data set's own (``DatasetSpec``: max_epochs, max_width, train_size) ----
RUN_BOUNDS = {"perm_fraction": (0.0, 1.0), "m1d_translation": (1, 60), "m1d_noise": (0.0, 2.0), "epochs": (1, None),
              "batch_size": (8, 1024), "width": (1, None), "lr": (1e-4, 1.0), "momentum": (0.0, 0.99),
              "train_size": (100, None), "seed": (0, 10_000)}

# ---- what one link's trainings may cost, in multiply-adds (CONVLAB_MAX_TRAIN_MACS) ----
# forward and backward passes over every training sample of every epoch, plus the test set each epoch: the
# notebook's four runs cost 5.9e10, which this project's 2-core CPU trained in 14 s (4.4e9 a second; the small
# MNIST-1D nets run at 1.5e9). The default cap is some 6 to 17 minutes there. The largest link the sliders allow
# costs far more.
TRAIN_MACS = 1.5e12
TRAIN_MACS_ENV = "CONVLAB_MAX_TRAIN_MACS"


def train_budget() -> float:
    """Multiply-adds one link's trainings may cost on this server."""
    return env_number(TRAIN_MACS_ENV, TRAIN_MACS)


# ---- the training service (core.service.worker, core.service.store) ----
RESULTS_MB_ENV = "CONVLAB_RESULTS_MAX_MB"


@dataclass(frozen=True)
class ServiceLimits:
    """What the viewers of one server may ask of its trainer together; each from an environment variable."""

    max_waiting: int = 16  # runs queued and not started, all viewers together (CONVLAB_MAX_QUEUE)
    per_viewer: int = 8  # runs one viewer may have pending (CONVLAB_MAX_PER_VIEWER)
    results_mb: float = 256.0  # the results folder's size cap, least recently used first (CONVLAB_RESULTS_MAX_MB)
    abandon_after: float = 30.0  # seconds without a look before a queued run is dropped (CONVLAB_ABANDON_S)

    @classmethod
    def from_env(cls) -> "ServiceLimits":
        d = cls()
        return cls(int(env_number("CONVLAB_MAX_QUEUE", d.max_waiting)),
                   int(env_number("CONVLAB_MAX_PER_VIEWER", d.per_viewer)),
                   env_number(RESULTS_MB_ENV, d.results_mb),
                   env_number("CONVLAB_ABANDON_S", d.abandon_after))
