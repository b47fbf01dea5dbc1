"""The practicum's four trainings: a loop faithful to the course notebook vs our engine.

    python benchmarks/training.py [--data-dir DIR] [--seeds 0,1,2] [--device cpu]

(a) the notebook: torchvision's MNIST with per-sample ToTensor() and
Normalize((0.1307,), (0.3081,)) through a DataLoader (batch 64, shuffled),
its FC2Layer and CNN classes, SGD lr 0.01 momentum 0.5, one epoch each, the
permutation applied batch by batch as the notebook does, test batch 1000;
(b) ``core.practicum.training``, as the CLI and the page run it (the two ConvNets in one
grouped pair). Each phase runs in its own process (same machine, same
thread count) so that its peak RSS is its own. Prints every run's seconds and
accuracy, the ratio of total wall times, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def notebook_phase(data_dir: str, seed: int, device: str) -> list[dict]:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torchvision import datasets, transforms

    from core.practicum.data import _torchvision_root

    dev = torch.device(device)
    root, _ = _torchvision_root("mnist", data_dir)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    torch.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(datasets.MNIST(str(root), train=True, download=True, transform=tf),
                                               batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(datasets.MNIST(str(root), train=False, transform=tf),
                                              batch_size=1000, shuffle=True)

    class FC2Layer(nn.Module):  # the notebook's, verbatim in substance
        def __init__(self, input_size, n_hidden, output_size):
            super().__init__()
            self.input_size = input_size
            self.network = nn.Sequential(nn.Linear(input_size, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_hidden),
                                         nn.ReLU(), nn.Linear(n_hidden, output_size), nn.LogSoftmax(dim=1))

        def forward(self, x):
            return self.network(x.view(-1, self.input_size))

    class CNN(nn.Module):
        def __init__(self, input_size, n_feature, output_size):
            super().__init__()
            self.n_feature = n_feature
            self.conv1 = nn.Conv2d(1, n_feature, kernel_size=5)
            self.conv2 = nn.Conv2d(n_feature, n_feature, kernel_size=5)
            self.fc1 = nn.Linear(n_feature * 4 * 4, 50)
            self.fc2 = nn.Linear(50, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), kernel_size=2)
            x = F.max_pool2d(F.relu(self.conv2(x)), kernel_size=2)
            x = F.relu(self.fc1(x.view(-1, self.n_feature * 4 * 4)))
            return F.log_softmax(self.fc2(x), dim=1)

    perm = torch.randperm(784)
    runs = []
    for permuted in (False, True):
        for name, model in (("fc", FC2Layer(784, 8, 10)), ("cnn", CNN(784, 6, 10))):
            model.to(dev)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
            started = time.perf_counter()
            model.train()
            for data, target in train_loader:
                data, target = data.to(dev), target.to(dev)
                if permuted:
                    data = data.view(-1, 28 * 28)[:, perm].view(-1, 1, 28, 28)
                opt.zero_grad()
                loss = F.nll_loss(model(data), target)
                loss.backward()
                opt.step()
            model.eval()
            correct = 0
            with torch.no_grad():
                for data, target in test_loader:
                    data, target = data.to(dev), target.to(dev)
                    if permuted:
                        data = data.view(-1, 28 * 28)[:, perm].view(-1, 1, 28, 28)
                    correct += (model(data).argmax(1) == target).sum().item()
            runs.append({"model": name, "permuted": permuted, "seconds": time.perf_counter() - started,
                         "accuracy": 100.0 * correct / len(test_loader.dataset)})
    return runs


def engine_phase(data_dir: str, seed: int, device: str) -> list[dict]:
    from core.practicum.data import load_dataset
    from core.practicum.runs import comparison, training_units
    from core.practicum.training import train_runs

    data = load_dataset("mnist", data_dir)
    configs, done = comparison(("fc", "cnn"), seed=seed), {}
    for members in training_units(configs):  # the ConvNets train as one pair, as the CLI and the page do
        started = time.perf_counter()
        results = train_runs(members, data, device=device)
        seconds = (time.perf_counter() - started) / len(members)  # a pair's time, shared by its two runs
        for r in results:
            done[r.key] = {"model": r.model, "permuted": r.permuted, "seconds": seconds,
                           "accuracy": r.accuracy, "paired": len(members) > 1}
    return [done[c.key()] for c in configs]


def child(phase: str, data_dir: str, seed: int, device: str) -> None:
    import torch

    started = time.perf_counter()
    runs = (notebook_phase if phase == "notebook" else engine_phase)(data_dir, seed, device)
    print(json.dumps({"runs": runs, "wall": time.perf_counter() - started, "threads": torch.get_num_threads(),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_phase(phase: str, args, seed: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, "--data-dir", args.data_dir, "--seeds",
                          str(seed), "--device", args.device], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("CONVLAB_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    p.add_argument("--seeds", default="0", help="comma-separated seeds (the bands are judged on 0,1,2)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (both phases use it)")
    p.add_argument("--phase", choices=["notebook", "engine"], help=argparse.SUPPRESS)
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.phase:
        return child(args.phase, args.data_dir, seeds[0], args.device)

    totals = {"notebook": [], "engine": []}
    accuracy: dict[tuple, list[float]] = {}
    lesson = []
    for seed in seeds:
        results = {phase: run_phase(phase, args, seed) for phase in ("notebook", "engine")}
        print(f"\nseed {seed} ({results['engine']['threads']} threads, device {args.device})")
        print(f"{'run':<16}{'notebook s':>11}{'acc %':>8}{'engine s':>10}{'acc %':>8}")
        for nb, en in zip(results["notebook"]["runs"], results["engine"]["runs"]):
            label = f"{en['model']} {'permuted' if en['permuted'] else 'original'}"
            star = "*" if en.get("paired") else " "
            print(f"{label:<16}{nb['seconds']:>11.2f}{nb['accuracy']:>8.2f}{en['seconds']:>10.2f}{star}{en['accuracy']:>7.2f}")
            accuracy.setdefault((en["model"], en["permuted"]), []).append(en["accuracy"])
        e = {(r["model"], r["permuted"]): r["accuracy"] for r in results["engine"]["runs"]}
        lesson.append(e["cnn", False] > e["fc", False] and e["cnn", True] < e["fc", True])
        for phase in totals:
            totals[phase].append(results[phase])
        print(f"wall: notebook {results['notebook']['wall']:.1f} s, engine {results['engine']['wall']:.1f} s, "
              f"ratio {results['notebook']['wall'] / results['engine']['wall']:.1f}x; peak RSS notebook "
              f"{results['notebook']['peak_rss_mb']:.0f} MB, engine {results['engine']['peak_rss_mb']:.0f} MB")
    print("\n* the two ConvNet runs train as one grouped pair (core.practicum.runs.pair_of): half the pair's time each")
    nb_wall = sum(r["wall"] for r in totals["notebook"])
    en_wall = sum(r["wall"] for r in totals["engine"])
    bands = {("fc", False): (85, 89.5), ("cnn", False): (93.5, 96), ("cnn", True): (78, 84), ("fc", True): (84, 88.5)}
    print(f"\nall seeds: ratio of total wall times {nb_wall / en_wall:.1f}x (target >= 6x)")
    for key, values in accuracy.items():
        mean = sum(values) / len(values)
        lo, hi = bands[key]
        print(f"  {key[0]:<4}{'permuted' if key[1] else 'original':<10} mean accuracy {mean:6.2f}  band {lo}-{hi}: "
              f"{'in' if lo <= mean <= hi else 'OUT'}")
    print(f"  lesson (ConvNet > FC on original, < FC on permuted) holds for {sum(lesson)}/{len(lesson)} seeds")


if __name__ == "__main__":
    main()
