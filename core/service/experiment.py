"""The practicum headless: fully connected net vs ConvNet, original vs permuted pixels.

    python -m core.service.experiment --dataset mnist --data-dir DIR --epochs 1 --device auto --seed 0 --json out.json
    python -m core.service.experiment --warm    # before a class: the warm-up what-ifs' runs into the results folder

Prints a table (model, input, parameters, accuracy, test loss, seconds,
device) and optionally writes ``{"runs": [{"model": ..., "permuted": ...,
"params": ..., "accuracy": ..., "test_loss": ..., "train_seconds": ...,
"device": ...}, ...]}`` (accuracy in percent). A ConvNet trains in lockstep
with its permuted twin (``core.practicum.runs.pair_of``): both rows then show the
pair's seconds, marked with a star.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from core.practicum.data import DataUnavailable, load_dataset
from core.practicum.device import DEVICE_CHOICES, pick_device
from core.practicum.datasets import NAMES as DATASETS
from core.practicum.models import MODELS
from core.practicum.runs import Progress, RunResult, default_config, training_units
from core.practicum.training import train_runs


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv=None) -> argparse.Namespace:
    p = _Parser(prog="python -m core.service.experiment", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=DATASETS, default="mnist", help="which data (default: mnist)")
    p.add_argument("--data-dir", help="folder holding MNIST/raw/ (default: $CONVLAB_DATA_DIR, else download)")
    p.add_argument("--epochs", type=int, help="epochs per run (default: 1; 20 for mnist1d)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="auto: CUDA, then MPS, then CPU")
    p.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed (default: 0)")
    p.add_argument("--models", default="fc,cnn", help=f"comma-separated subset of {','.join(MODELS)} (default: fc,cnn)")
    p.add_argument("--lr", type=float, help="SGD learning rate (default: 0.01; 0.05 for mnist1d)")
    p.add_argument("--momentum", type=float, help="SGD momentum (default: 0.5; 0.9 for mnist1d)")
    p.add_argument("--batch-size", type=int, default=64, help="training batch size (default: 64)")
    p.add_argument("--width", type=int, help="n_hidden (fc) / n_features (cnn, lc); default: the notebook's")
    p.add_argument("--train-size", type=int, help="use only the first N training samples")
    p.add_argument("--json", metavar="FILE", help="also write the runs as JSON to FILE")
    p.add_argument("--warm", action="store_true",
                   help="before a class: train the runs of every warm-up what-if (the notebook's, MNIST-1D, three epochs, the signals page's knob) into the results folder "
                        "($CONVLAB_RESULTS_DIR), on the Dask cluster when $CONVLAB_DASK_SCHEDULER is set, so the "
                        "first viewer sees results at once (the other options are ignored)")
    args = p.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        p.error(f"--models takes a comma-separated subset of {','.join(MODELS)}, got {args.models!r}")
    args.models = models
    for name in ("epochs", "batch_size", "width", "train_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    try:
        pick_device(args.device)
    except ValueError as exc:
        p.error(str(exc))
    return args


def _bar(label: str, progress: Progress, started: float) -> None:
    done = progress.step / progress.total if progress.total else 0.0
    filled = int(30 * done)
    sys.stderr.write(f"\r{label:<22} [{'#' * filled}{'.' * (30 - filled)}] {100 * done:5.1f}% "
                     f"loss {progress.loss:6.3f} {time.perf_counter() - started:6.1f}s")
    sys.stderr.flush()


def warm(data_dir: str | None) -> int:
    """Train what the warm-up what-ifs ask for and is not stored yet; one line per what-if. 0 when all are stored."""
    from core.practicum.data import DATA_ENV
    from core.practicum.practicum import curated_configs
    from core.service.cluster import executor_from_env
    from core.service.worker import Trainer

    try:
        executor = executor_from_env()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    trainer = Trainer(data_dir=data_dir or os.environ.get(DATA_ENV), executor=executor)
    print(f"results folder: {trainer.store.root}; trainings run on {trainer.engine.name}")
    failed = 0
    try:
        for name, configs in curated_configs():
            stored = sum(trainer.lookup(c) is not None and trainer.lookup(c).state == "done" for c in configs)
            started = time.perf_counter()
            jobs = trainer.submit_all(configs)
            while not all(j.finished for j in jobs):
                time.sleep(0.5)
            bad = [f"{j.config.model}{' permuted' if j.config.permuted else ''}: {j.error or j.state}"
                   for j in jobs if j.state != "done"]
            failed += len(bad)
            print(f"{name:<28} {len(configs)} runs, {stored} stored already, "
                  f"{time.perf_counter() - started:6.1f} s" + (f"; failed: {'; '.join(bad)}" if bad else ""))
    finally:
        trainer.close()
    return 1 if failed else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.warm:
        return warm(args.data_dir)
    try:
        data = load_dataset(args.dataset, args.data_dir)
    except DataUnavailable as exc:
        print(f"error: {exc} Or use --dataset mnist1d, which needs no download.", file=sys.stderr)
        return 1
    overrides = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("momentum", args.momentum),
                                   ("width", args.width), ("train_size", args.train_size)) if v is not None}
    configs = []
    for permuted in (False, True):
        for model in args.models:
            config, notes = default_config(args.dataset, model=model, permuted=permuted, seed=args.seed,
                                           batch_size=args.batch_size, **overrides).clamped()
            for note in notes:
                print(f"note: {note}", file=sys.stderr)
            configs.append(config)
    results: dict[str, RunResult] = {}
    for members in training_units(configs):  # a ConvNet trains with its permuted twin, in lockstep
        config = members[0]
        label = f"{config.model} {'original + permuted' if len(members) > 1 else 'permuted' if config.permuted else 'original'}"
        progresses, started = [Progress() for _ in members], time.perf_counter()
        stop = lambda: (_bar(label, progresses[0], started), False)[1]  # noqa: E731 - redraw at every report
        for r in train_runs(members, data, device=args.device, progresses=progresses, should_stop=stop):
            results[r.key] = r
        _bar(label, progresses[0], started)
        sys.stderr.write("\n")
    runs = [results[c.key()] for c in configs]
    print(f"{'model':<6}{'input':<10}{'params':>8}{'accuracy':>10}{'test loss':>11}{'seconds':>9}   device")
    for r in runs:
        print(f"{r.model:<6}{'permuted' if r.permuted else 'original':<10}{r.params:>8}"
              f"{r.accuracy:>9.2f}%{r.test_loss:>11.4f}{r.train_seconds:>9.2f}{'*' if r.trained_with else ' '}"
              f"  {r.device_name}")
    if any(r.trained_with for r in runs):
        print("* trained with its twin (original and permuted) in one grouped pass: the seconds are the pair's")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": [r.to_dict() for r in runs]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
