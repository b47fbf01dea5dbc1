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

import copy
import time
from dataclasses import replace
from typing import Callable

import torch
import torch.nn.functional as F

from core.practicum.data import Dataset, load_dataset, permute_pixels, pixel_permutation
from core.practicum.device import describe_device, pick_device
from core.nets.grouped import fast_order, spatial_prefix, stack_models, unstack, unstack_first_conv, unstack_spatial
from core.nets.layers import build_model
from core.nets.models import count_parameters
from core.practicum.models import practicum_rows
from core.practicum.runs import Cancelled, Progress, RunConfig, RunResult, pair_of



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


def _evaluate(model, split, classes: int, prepare, groups: int, batch: int = 1000):
    """Per member: test loss (mean NLL), accuracy (percent) and per-class accuracy, in batches of 1000."""
    y = split.y
    model.eval()
    loss, hits = [0.0] * groups, torch.zeros(groups, classes, device=y.device)
    counts = torch.bincount(y, minlength=classes).float()
    with torch.no_grad():
        for i in range(0, len(y), batch):
            out = model(prepare(split.batch(slice(i, i + batch)))).reshape(-1, groups, classes)
            yb = y[i:i + batch]
            for g in range(groups):
                loss[g] += F.nll_loss(out[:, g], yb, reduction="sum").item()
                hits[g] += torch.bincount(yb[out[:, g].argmax(1) == yb], minlength=classes).float()
    model.train()
    return [(loss[g] / len(y), 100 * hits[g].sum().item() / len(y), (100 * hits[g] / counts.clamp_min(1)).tolist())
            for g in range(groups)]


def train(config: RunConfig, data: Dataset | None = None, *, device: str | torch.device = "auto",
          data_dir: str | None = None, progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None, report_every: int = 25) -> RunResult:
    """Train one model of the practicum and evaluate it on the test set.

    A ConvNet on an image data set trains inside its pair (``pair_of``): the
    twin is trained too, and only this result returned.
    Use ``train_runs`` to keep both.

    Args:
        config: what to train; ``data`` (else loaded by name from ``data_dir``).
        device: ``auto`` (CUDA, then MPS, then CPU), or a device name.
        progress: filled in as training goes (for a progress bar elsewhere).
        should_stop: polled at every report; True raises ``Cancelled``.

    Returns:
        The ``RunResult`` (``core.practicum.runs``): test accuracy and loss, per-class
        accuracy, per-epoch test metrics, training losses, timings, device,
        and for ConvNets the first convolution's kernels and the effective
        receptive field.
    """
    members = pair_of(config) or (config,)
    i = members.index(config)
    progresses = [progress if k == i and progress is not None else Progress() for k in range(len(members))]
    return train_runs(members, data, device=device, data_dir=data_dir, progresses=progresses,
                      should_stop=should_stop, report_every=report_every)[i]


def train_runs(configs, data: Dataset | None = None, *, device: str | torch.device = "auto",
               data_dir: str | None = None, progresses: list[Progress] | None = None,
               should_stop: Callable[[], bool] | None = None, report_every: int = 25) -> list[RunResult]:
    """Train one configuration alone, or a pair from ``pair_of`` in lockstep; one result per configuration."""
    configs = tuple(configs)
    if len(configs) > 1 and configs != pair_of(configs[0]):
        raise ValueError("train_runs takes one configuration or a pair from pair_of")
    groups, config = len(configs), configs[0]
    dev = pick_device(device) if isinstance(device, str) else device
    data = data if data is not None else load_dataset(config.dataset, data_dir, max_translation=config.m1d_translation,
                                                      iid_noise_scale=config.m1d_noise)
    # permutations are applied batch by batch (no permuted copy of the data set)
    positions = data.train.x[0, 0].numel()
    perms = [pixel_permutation(positions, c.perm_seed, c.perm_fraction).to(dev) if c.permuted else None
             for c in configs]
    progresses = progresses or [Progress() for _ in configs]
    n = min(config.train_size or len(data.train.y), len(data.train.y))
    train_split = replace(data.train, x=data.train.x[:n].to(dev), y=data.train.y[:n].to(dev))
    test_split = replace(data.test, x=data.test.x.to(dev), y=data.test.y.to(dev))
    y = train_split.y

    shape, rows = practicum_rows(config.model, config.dataset, config.width)
    members = []
    for c in configs:  # each member's own initialisation, exactly as if it trained alone
        torch.manual_seed(c.seed)
        members.append(build_model(fast_order(rows), shape))
    # the ConvNets' spatial layers as initialised, for the effective receptive field before and after training
    initial = [copy.deepcopy(spatial_prefix(m)) if c.model == "cnn" else None for m, c in zip(members, configs)]
    model = (members[0] if groups == 1 else stack_models(members)).to(dev)
    # images in channels-last layout: oneDNN's convolutions and pooling run faster on it
    layout = torch.channels_last if len(shape) == 3 else torch.contiguous_format
    model = model.to(memory_format=layout)

    def prepare(xb):
        views = [xb if p is None else permute_pixels(xb, p) for p in perms]
        if groups == 1:
            return views[0].contiguous(memory_format=layout)
        if layout is torch.channels_last and xb.shape[1] == 1:  # one channel each: interleave straight into NHWC
            return torch.stack([v[:, 0] for v in views], dim=-1).permute(0, 3, 1, 2)
        return torch.cat(views, 1).contiguous(memory_format=layout)

    opt = MomentumSGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    gen = torch.Generator().manual_seed(config.seed)

    steps_per_epoch = -(-n // config.batch_size)
    for p in progresses:
        p.start(steps_per_epoch * config.epochs)
    epochs, per_class, train_seconds, eval_seconds = [[] for _ in configs], [None] * groups, 0.0, 0.0
    for epoch in range(1, config.epochs + 1):
        for p in progresses:
            p.epoch = epoch
        order = torch.randperm(n, generator=gen).to(dev)
        started = time.perf_counter()
        loss_sum = torch.zeros(groups, device=dev)
        hits = torch.zeros(groups, device=dev)
        seen, since = 0, 0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size:(step + 1) * config.batch_size]
            xb, yb = prepare(train_split.batch(idx)), y.index_select(0, idx)
            opt.zero_grad()
            out = model(xb).reshape(len(idx), groups, -1)
            losses = torch.stack([F.nll_loss(out[:, g], yb) for g in range(groups)])
            losses.sum().backward()  # no member's weights touch another's loss: each gets its own gradient
            opt.step()
            loss_sum += losses.detach()
            hits += (out.detach().argmax(2) == yb[:, None]).sum(0)
            seen += len(idx)
            since += 1
            if since == report_every or step == steps_per_epoch - 1:
                mean_loss, accuracy = (loss_sum / since).tolist(), (100 * hits / seen).tolist()
                for g, p in enumerate(progresses):
                    p.report((epoch - 1) * steps_per_epoch + step + 1, mean_loss[g], accuracy[g])
                loss_sum.zero_()
                since = 0
                if should_stop is not None and should_stop():
                    raise Cancelled("training was cancelled")
        train_seconds += time.perf_counter() - started
        started = time.perf_counter()
        for g, (test_loss, accuracy, per_class[g]) in enumerate(
                _evaluate(model, test_split, data.classes, prepare, groups)):
            epochs[g].append({"epoch": epoch, "accuracy": accuracy, "test_loss": test_loss})
        eval_seconds += time.perf_counter() - started

    results = []
    for g, c in enumerate(configs):
        filters, erf = None, None
        if c.model == "cnn":
            weight = unstack_first_conv(model, groups, g)
            filters = weight.detach().cpu().reshape(-1, *weight.shape[-(len(shape) - 1):]).tolist()
            trained = spatial_prefix(model) if groups == 1 else unstack_spatial(model, groups, g, members[g])
            erf = _effective_fields(initial[g], copy.deepcopy(trained).cpu().float(), test_split, perms[g])
        own = model if groups == 1 else unstack(model, groups, g, members[g])
        results.append(RunResult(
            config=c, params=count_parameters(members[g]), accuracy=epochs[g][-1]["accuracy"],
            test_loss=epochs[g][-1]["test_loss"], per_class=per_class[g], losses=progresses[g].snapshot().losses,
            report_every=report_every, epochs=epochs[g], train_seconds=train_seconds, eval_seconds=eval_seconds,
            device=dev.type, device_name=describe_device(dev), threads=torch.get_num_threads(), filters=filters,
            erf=erf, trained_with=next((o.key() for o in configs if o is not c), None), weights=weights_bytes(own)))
    return results


def weights_bytes(model: torch.nn.Module) -> bytes:
    """The model's state dict, on the CPU and in contiguous layout, as ``torch.save`` bytes."""
    import io

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


ERF_SAMPLES = 64  # test inputs the effective receptive field is averaged over


def _effective_fields(initial, trained, split, perm) -> dict:
    """The central unit's gradient field (Luo et al. 2016) at initialisation and after training, each scaled to a
    maximum of 1, on the first test inputs as the network sees them (permuted for a permuted run)."""
    from core.nets.receptive_field import gradient_field

    x = split.batch(slice(0, ERF_SAMPLES)).cpu()
    if perm is not None:
        x = permute_pixels(x, perm.cpu())
    out = {"samples": len(x)}
    for name, prefix in (("random", initial), ("trained", trained)):
        g = gradient_field(prefix.float(), x.float())
        out[name] = (g / g.max().clamp_min(1e-30)).round(decimals=4).tolist()
    return out
