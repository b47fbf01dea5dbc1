"""The practicum's training engine: the notebook's models and optimiser, run as a plain tensor loop.

Faithful to the course notebook (``06-convnet.ipynb``): SGD with lr 0.01 and
momentum 0.5, batch 64 shuffled, negative log-likelihood, a fresh optimiser
per model, test batch 1000. Faster because the data is loaded once into
uint8 tensors and each batch is normalised (and permuted) on the fly (no
per-sample ``ToTensor``/``Normalize``, no DataLoader), convolutions run
channels-last, ``relu, max pool`` runs as ``max pool, relu`` (the same
function), SGD is written with foreach kernels, and the loss is only read back
when progress is reported. Runs on CUDA, then Apple MPS, then the CPU.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import torch
import torch.nn.functional as F

from core.data import Dataset, load_dataset, permute_pixels, pixel_permutation
from core.device import describe_device, pick_device
from core.models import build_model, count_parameters, fast_order, practicum_rows

DATASETS = ("mnist", "fashion-mnist", "kmnist", "mnist1d")
MODELS = ("fc", "cnn", "lc")
# what one link may ask of a shared server
BOUNDS = {"perm_fraction": (0.0, 1.0), "m1d_translation": (1, 60), "m1d_noise": (0.0, 2.0), "epochs": (1, 50), "batch_size": (8, 1024), "width": (1, 64), "lr": (1e-4, 1.0),
          "momentum": (0.0, 0.99), "train_size": (100, 60000), "seed": (0, 10_000)}


# MNIST-1D is small: more epochs and a livelier SGD reach the paper's numbers (MLP 68%, CNN 94%)
DATASET_DEFAULTS = {"mnist1d": {"epochs": 20, "lr": 0.05, "momentum": 0.9}}
MAX_EPOCHS = {"mnist1d": 50}  # image datasets: 5 (60,000 samples an epoch)


class MomentumSGD:
    """``torch.optim.SGD(params, lr, momentum)`` (no dampening, no weight decay), step for step.

    Written with PyTorch's own ``_foreach`` kernels: the same update as
    ``torch.optim.SGD`` (the tests compare the two), without its per-step
    wrapper and without the second it takes to import ``torch._dynamo`` on first use.
    """

    def __init__(self, params, lr: float, momentum: float):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.momentum = lr, momentum
        self.buffers: list[torch.Tensor] | None = None

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if self.buffers is None:  # as torch.optim.SGD: the first buffer is the gradient itself
            self.buffers = [g.clone() for g in grads]
        else:
            torch._foreach_mul_(self.buffers, self.momentum)
            torch._foreach_add_(self.buffers, grads)
        torch._foreach_add_(self.params, self.buffers, alpha=-self.lr)


class Cancelled(RuntimeError):
    """The run was asked to stop."""


@dataclass(frozen=True)
class RunConfig:
    """One training run of the practicum."""

    model: str = "cnn"  # fc | cnn | lc
    permuted: bool = False  # one fixed pixel permutation on train and test
    dataset: str = "mnist"  # mnist | fashion-mnist | kmnist | mnist1d
    epochs: int = 1
    lr: float = 0.01
    momentum: float = 0.5
    batch_size: int = 64
    seed: int = 0  # initialisation and shuffling
    width: int | None = None  # n_hidden (fc) or n_features (cnn, lc); None: the notebook's
    train_size: int | None = None  # the first N training samples; None: all
    perm_seed: int = 0  # which permutation
    perm_fraction: float = 1.0  # share of positions the permutation moves (1: all, as the notebook)
    m1d_translation: int | None = None  # MNIST-1D's max_translation (None: its default, 48)
    m1d_noise: float | None = None  # MNIST-1D's iid_noise_scale (None: its default, 0.02)

    def clamped(self) -> tuple["RunConfig", list[str]]:
        """The config inside ``BOUNDS`` and known names, and a note for every value changed."""
        notes, values = [], asdict(self)
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        for name, (lo, hi) in BOUNDS.items():
            if name == "epochs":
                hi = MAX_EPOCHS.get(self.dataset, 5)
            v = values[name]
            if v is None:
                continue
            c = type(lo)(min(max(v, lo), hi)) if isinstance(lo, float) else int(min(max(v, lo), hi))
            if c != v:
                notes.append(f"{name} {v} is outside {lo}..{hi}; using {c}")
                values[name] = c
        return RunConfig(**values), notes

    def key(self) -> str:
        """A stable name for this configuration (results are stored and shared under it)."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Progress:
    """What a running training reports; read by other threads."""

    step: int = 0
    total: int = 0
    epoch: int = 0
    loss: float = float("nan")  # mean training loss since the last report
    accuracy: float = float("nan")  # running training accuracy of the epoch, percent
    losses: list[float] = field(default_factory=list)  # one value per report


def _evaluate(model, split, classes: int, prepare, batch: int = 1000):
    """Test loss (mean NLL), accuracy (percent) and per-class accuracy, in batches of 1000."""
    y = split.y
    model.eval()
    loss, hits = 0.0, torch.zeros(classes, device=y.device)
    counts = torch.bincount(y, minlength=classes).float()
    with torch.no_grad():
        for i in range(0, len(y), batch):
            out = model(prepare(split.batch(slice(i, i + batch))))
            loss += F.nll_loss(out, y[i:i + batch], reduction="sum").item()
            right = out.argmax(1) == y[i:i + batch]
            hits += torch.bincount(y[i:i + batch][right], minlength=classes).float()
    model.train()
    per_class = (100 * hits / counts.clamp_min(1)).tolist()
    return loss / len(y), 100 * hits.sum().item() / len(y), per_class


def train(config: RunConfig, data: Dataset | None = None, *, device: str | torch.device = "auto",
          data_dir: str | None = None, progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None, report_every: int = 25) -> dict:
    """Train one model of the practicum and evaluate it on the test set.

    Args:
        config: what to train; ``data`` (else loaded by name from ``data_dir``).
        device: ``auto`` (CUDA, then MPS, then CPU), or a device name.
        progress: filled in as training goes (for a progress bar elsewhere).
        should_stop: polled at every report; True raises ``Cancelled``.

    Returns:
        A JSON-ready dict: model, permuted, dataset, params, accuracy (percent),
        test_loss, train_seconds, eval_seconds, device, device_name, threads,
        epochs (per-epoch test metrics), per_class, losses, filters (first
        convolution's kernels, for ConvNets), config.
    """
    dev = pick_device(device) if isinstance(device, str) else device
    data = data if data is not None else load_dataset(config.dataset, data_dir, max_translation=config.m1d_translation,
                                                      iid_noise_scale=config.m1d_noise)
    # the permutation is applied batch by batch (no permuted copy of the data set)
    perm = (pixel_permutation(data.train.x[0, 0].numel(), config.perm_seed, config.perm_fraction).to(dev)
            if config.permuted else None)
    progress = progress if progress is not None else Progress()
    n = min(config.train_size or len(data.train.y), len(data.train.y))
    train_split = replace(data.train, x=data.train.x[:n].to(dev), y=data.train.y[:n].to(dev))
    test_split = replace(data.test, x=data.test.x.to(dev), y=data.test.y.to(dev))
    y = train_split.y

    shape, rows = practicum_rows(config.model, config.dataset, config.width)
    torch.manual_seed(config.seed)
    model = build_model(fast_order(rows), shape).to(dev)
    # images in channels-last layout: oneDNN's convolutions and pooling run faster on it
    layout = torch.channels_last if len(shape) == 3 else torch.contiguous_format
    model = model.to(memory_format=layout)

    def prepare(xb):
        if perm is not None:
            xb = permute_pixels(xb, perm)
        return xb.contiguous(memory_format=layout)

    opt = MomentumSGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    gen = torch.Generator().manual_seed(config.seed)

    steps_per_epoch = -(-n // config.batch_size)
    progress.total = steps_per_epoch * config.epochs
    epochs, train_seconds, eval_seconds = [], 0.0, 0.0
    for epoch in range(1, config.epochs + 1):
        progress.epoch = epoch
        order = torch.randperm(n, generator=gen).to(dev)
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        hits = torch.zeros((), device=dev)
        seen, since = 0, 0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size:(step + 1) * config.batch_size]
            xb, yb = prepare(train_split.batch(idx)), y.index_select(0, idx)
            opt.zero_grad()
            out = model(xb)
            loss = F.nll_loss(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            hits += (out.detach().argmax(1) == yb).sum()
            seen += len(idx)
            since += 1
            if since == report_every or step == steps_per_epoch - 1:
                progress.loss = loss_sum.item() / since
                progress.losses.append(progress.loss)
                progress.accuracy = 100 * hits.item() / seen
                progress.step = (epoch - 1) * steps_per_epoch + step + 1
                loss_sum.zero_()
                since = 0
                if should_stop is not None and should_stop():
                    raise Cancelled("training was cancelled")
        train_seconds += time.perf_counter() - started
        started = time.perf_counter()
        test_loss, accuracy, per_class = _evaluate(model, test_split, data.classes, prepare)
        eval_seconds += time.perf_counter() - started
        epochs.append({"epoch": epoch, "accuracy": accuracy, "test_loss": test_loss})

    first = next((m for m in model if hasattr(m, "weight") and m.weight.dim() >= 3), None)
    filters = first.weight.detach().cpu().reshape(-1, *first.weight.shape[-(len(shape) - 1):]).tolist() \
        if first is not None and config.model == "cnn" else None
    return {
        "model": config.model, "permuted": config.permuted, "dataset": config.dataset,
        "params": count_parameters(model), "accuracy": epochs[-1]["accuracy"], "test_loss": epochs[-1]["test_loss"],
        "train_seconds": train_seconds, "eval_seconds": eval_seconds, "device": dev.type,
        "device_name": describe_device(dev), "threads": torch.get_num_threads(), "epochs": epochs,
        "per_class": per_class, "losses": progress.losses, "report_every": report_every, "filters": filters,
        "config": asdict(config), "key": config.key(),
    }


def default_config(dataset: str = "mnist", **overrides) -> RunConfig:
    """The notebook's settings (or MNIST-1D's), with ``overrides`` on top."""
    return RunConfig(dataset=dataset, **{**DATASET_DEFAULTS.get(dataset, {}), **overrides})


def comparison(models=("fc", "cnn"), dataset: str = "mnist", **overrides) -> list[RunConfig]:
    """The practicum's grid: every model on original and permuted pixels."""
    base = default_config(dataset, **overrides)
    return [replace(base, model=m, permuted=p) for p in (False, True) for m in models]
