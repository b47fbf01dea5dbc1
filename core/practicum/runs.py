"""What a training run is: its settings (``RunConfig``), its progress while it runs, and its result (``RunResult``).

Plain records, without torch: the practicum page, the verdict, the result
store and the command line read them; ``core.practicum.training`` produces them.
A result is stored as one JSON file per configuration key; ``RunResult.from_json``
refuses a file that is not a result of this lab (or of another configuration)
and reads the results stored before the format had a name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import time
from dataclasses import MISSING, asdict, dataclass, field, fields, replace

from core.limits import RUN_BOUNDS
from core.practicum.datasets import SPECS, spec
from core.practicum.models import model


class Cancelled(RuntimeError):
    """The run was asked to stop."""


@dataclass(frozen=True)
class RunConfig:
    """One training run of the practicum."""

    model: str = "cnn"  # fc | cnn | lc
    permuted: bool = False  # one fixed pixel permutation on train and test
    dataset: str = "mnist"  # mnist | fashion-mnist | kmnist | mnist1d
    epochs: int | None = None  # None, as lr and momentum: the data set's (``DatasetSpec``), filled in at once
    lr: float | None = None
    momentum: float | None = None
    batch_size: int = 64
    seed: int = 0  # initialisation and shuffling
    width: int | None = None  # n_hidden (fc) or n_features (cnn, lc); None: the notebook's
    train_size: int | None = None  # the first N training samples; None: all
    perm_seed: int = 0  # which permutation
    perm_fraction: float = 1.0  # share of positions the permutation moves (1: all, as the notebook)
    m1d_translation: int | None = None  # MNIST-1D's max_translation (None: its default, 48)
    m1d_noise: float | None = None  # MNIST-1D's iid_noise_scale (None: its default, 0.02)

    def __post_init__(self) -> None:
        """The data set's training settings where none were given, so that a configuration and its key say what
        trains: ``RunConfig(dataset="mnist1d")`` trains MNIST-1D's 20 epochs, not MNIST's one."""
        ds = SPECS.get(self.dataset)
        for name in ("epochs", "lr", "momentum"):
            if getattr(self, name) is None and ds is not None:
                object.__setattr__(self, name, getattr(ds, name))

    def clamped(self) -> tuple["RunConfig", list[str]]:
        """The config inside ``core.limits.RUN_BOUNDS`` and known names, and a note for every value changed.

        Equivalent settings are written one way, so that they share one key
        (one stored result): no width means the data set's default width, and
        all the training samples mean ``train_size=None``.
        """
        notes, values = [], asdict(self)
        model(self.model)  # a clear error for a key that names no model
        ds = spec(self.dataset)
        if values["width"] is None:
            values["width"] = ds.width(self.model)
        if values["train_size"] is not None and values["train_size"] >= ds.train_size:
            values["train_size"] = None
        for name, (lo, hi) in RUN_BOUNDS.items():
            hi = {"epochs": ds.max_epochs, "width": ds.max_width, "train_size": ds.train_size}.get(name, hi)
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
        return _key_of(self)


@functools.lru_cache(maxsize=4096)
def _key_of(config: RunConfig) -> str:
    """``RunConfig.key``, worked out once per distinct configuration (a page rerun asks for dozens)."""
    return hashlib.sha1(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Progress:
    """What a running training reports; written by the training thread, read by others through ``snapshot``."""

    step: int = 0
    total: int = 0
    epoch: int = 0
    loss: float = float("nan")  # mean training loss since the last report
    accuracy: float = float("nan")  # running training accuracy of the epoch, percent
    losses: list[float] = field(default_factory=list)  # one value per report
    started: float | None = None  # time.monotonic() when the first step began
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def start(self, total: int) -> None:
        with self._lock:
            self.total, self.started = total, time.monotonic()

    def report(self, step: int, loss: float, accuracy: float) -> None:
        with self._lock:
            self.step, self.loss, self.accuracy = step, loss, accuracy
            self.losses.append(loss)

    def restart(self) -> None:
        """From the start again (a task that began anew on another worker)."""
        with self._lock:
            self.step, self.epoch, self.losses, self.started = 0, 0, [], None

    def follow(self, step: int, total: int, epoch: int, loss: float, accuracy: float, elapsed: float) -> bool:
        """A report made elsewhere (a Dask task's event), ``elapsed`` seconds into the run; an older one than
        what is shown is ignored. True when it moved the progress on."""
        with self._lock:
            if step <= self.step:
                return False
            self.step, self.total, self.epoch, self.loss, self.accuracy = step, total, epoch, loss, accuracy
            self.losses.append(loss)
            self.started = time.monotonic() - elapsed
            return True

    def event(self, key: str) -> dict:
        """This progress as an event for another process (a Dask task's, ``core.service.cluster``), read back by
        ``follow_event``: the one place that writes and reads the format."""
        s = self.snapshot()
        return {"key": key, "step": s.step, "total": s.total, "epoch": s.epoch, "loss": s.loss,
                "accuracy": s.accuracy, "elapsed": time.monotonic() - (s.started or time.monotonic())}

    @staticmethod
    def start_event(key: str, device: str) -> dict:
        """The event of an attempt that starts (a first one, or one again on another worker) on ``device``."""
        return {"key": key, "started": True, "device": device}

    def follow_event(self, event: dict) -> bool:
        """``follow`` an ``event`` made by ``event``; False for a start or anything else."""
        if event.get("started") or "step" not in event:
            return False
        return self.follow(event["step"], event["total"], event["epoch"], event["loss"], event["accuracy"],
                           event["elapsed"])

    def finish(self, losses: list[float]) -> None:
        """The run ended: every step done, and the whole loss curve (also when reports came only at the end)."""
        with self._lock:
            self.losses, self.step = list(losses), self.total

    def snapshot(self) -> "Progress":
        """A consistent copy (its own loss list), never the list the trainer is appending to."""
        with self._lock:
            return Progress(self.step, self.total, self.epoch, self.loss, self.accuracy, list(self.losses),
                            self.started)

    def seconds_left(self, now: float | None = None) -> float | None:
        """Time to the last step at the pace so far (the test passes between epochs make it a slight
        underestimate), or None before the first report."""
        if self.started is None or self.step <= 0 or not self.total:
            return None
        elapsed = (time.monotonic() if now is None else now) - self.started
        return elapsed * (self.total - self.step) / self.step


# ConvNets on images train as a pair, original and permuted in lockstep as one grouped network (``stack_models``):
# the two runs share every batch and nothing else, and oneDNN's grouped convolutions make the pair cost about
# 0.75 of two runs (the fully connected net gains nothing: it trains alone). Such a configuration always trains
# inside its own pair, so that its result never depends on who asked for it.
PAIRED_MODELS = ("cnn",)


def pair_of(config: RunConfig) -> tuple[RunConfig, RunConfig] | None:
    """(original, permuted): the pair ``config`` trains in, or None when it trains alone (FC, LC, MNIST-1D)."""
    if config.model in PAIRED_MODELS and spec(config.dataset).paired:
        return replace(config, permuted=False), replace(config, permuted=True)
    return None


def training_units(configs) -> list[tuple[RunConfig, ...]]:
    """What to hand ``train_runs`` to get every configuration: each pair once, in order, the rest alone."""
    units, seen = [], set()
    for config in configs:
        unit = pair_of(config) or (config,)
        if config.key() not in seen:
            units.append(unit)
            seen.update(c.key() for c in unit)
    return units


def default_config(dataset: str = "mnist", **overrides) -> RunConfig:
    """The notebook's settings (or MNIST-1D's), with ``overrides`` on top: ``RunConfig`` fills in what is left
    out from the data set's spec."""
    spec(dataset)  # a clear error for an unknown data set
    return RunConfig(dataset=dataset, **overrides)


def comparison(models=("fc", "cnn"), dataset: str = "mnist", **overrides) -> list[RunConfig]:
    """The practicum's grid: every model on original and permuted pixels."""
    base = default_config(dataset, **overrides)
    return [replace(base, model=m, permuted=p) for p in (False, True) for m in models]


RESULT_FORMAT = "convlab.run-result/1"  # written into every stored result; a file with another is refused


@dataclass
class RunResult:
    """One trained model, evaluated on the test set; ``to_json``/``from_json`` store it."""

    config: RunConfig
    params: int
    accuracy: float  # test accuracy, percent
    test_loss: float  # mean negative log-likelihood on the test set
    per_class: list[float]  # test accuracy of each class, percent
    losses: list[float]  # mean training loss over each report interval
    report_every: int = 25  # training steps per entry of ``losses``
    epochs: list[dict] = field(default_factory=list)  # after each epoch: {"epoch", "accuracy", "test_loss"}
    train_seconds: float = 0.0  # of the whole pair when trained as one (``trained_with``)
    eval_seconds: float = 0.0
    device: str = "cpu"  # cuda | mps | cpu
    device_name: str = "unknown"
    threads: int = 0
    filters: list | None = None  # the first convolution's kernels (ConvNets)
    erf: dict | None = None  # effective receptive field at initialisation and after training (ConvNets)
    trained_with: str | None = None  # the twin's key when trained as a pair
    # the trained weights (``torch.save`` of the state dict): stored beside the JSON file, not in it
    weights: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return self.config.key()

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def permuted(self) -> bool:
        return self.config.permuted

    @property
    def dataset(self) -> str:
        return self.config.dataset

    def to_dict(self) -> dict:
        """JSON-ready: the fields, the format's name, and (for readers of the file) key, model, permuted, dataset."""
        fields_ = asdict(self)
        fields_.pop("weights")
        return {"format": RESULT_FORMAT, "key": self.key, "model": self.model, "permuted": self.permuted,
                "dataset": self.dataset, **fields_}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, record: object, key: str | None = None) -> "RunResult":
        """The result in ``record`` (of configuration ``key``, when given).

        Raises:
            ValueError: ``record`` is not a result of this lab, has a field of the wrong type, or belongs to
                another configuration.
        """
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        if record.get("format", RESULT_FORMAT) != RESULT_FORMAT:
            raise ValueError(f"format {str(record.get('format'))[:40]!r}, not {RESULT_FORMAT}")
        if "format" not in record and "key" not in record:  # stored before the format had a name: it had a key
            raise ValueError("no format and no key: not a training result of this lab")
        config = record.get("config")
        names = {f.name for f in fields(RunConfig)}
        if not isinstance(config, dict) or not set(config) <= names:
            raise ValueError("no configuration, or one with unknown settings")
        values = {"config": RunConfig(**config)}
        for f in fields(cls):
            if f.name in ("config", "weights") or f.name not in record:  # weights live in their own file
                continue
            value, kind = record[f.name], _FIELD_TYPES[f.name]
            if value is None and f.default is None:
                values[f.name] = None
            elif isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
                raise ValueError(f"{f.name} has the wrong type ({type(value).__name__})")
            else:
                values[f.name] = value
        missing = [f.name for f in fields(cls) if f.name not in values and f.default is MISSING
                   and f.default_factory is MISSING]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        result = cls(**values)
        for name in ("key", "model", "permuted", "dataset"):  # written for readers; must agree with the config
            if name in record and record[name] != getattr(result, name):
                raise ValueError(f"its {name} does not match its configuration")
        if key is not None and result.key != key:
            raise ValueError("it is the result of another configuration")
        if not math.isfinite(result.accuracy) or not 0 <= result.accuracy <= 100:
            raise ValueError("accuracy outside 0..100")
        return result

    @classmethod
    def from_json(cls, text: str, key: str | None = None) -> "RunResult":
        """``from_dict`` of a JSON text; raises ValueError for a damaged or foreign file."""
        return cls.from_dict(json.loads(text), key)


# the JSON type each field must have (a number may be written as an int; ``None`` where the default is None)
_FIELD_TYPES = {"params": int, "accuracy": (int, float), "test_loss": (int, float), "per_class": list,
                "losses": list, "report_every": int, "epochs": list, "train_seconds": (int, float),
                "eval_seconds": (int, float), "device": str, "device_name": str, "threads": int, "filters": list,
                "erf": dict, "trained_with": str}
