"""What training costs, before anything trains: multiply-adds from the models' shapes alone, and how long they
take at this server's measured speeds. The trainer bounds a link by it, and the pages say it."""

from __future__ import annotations

from core.practicum.datasets import spec
from core.practicum.models import practicum_rows


def time_estimate(cost: float, speeds: tuple[float, float] | None, ahead: int = 0) -> str:
    """How long ``cost`` multiply-adds take, as a range from this server's slowest and fastest measured speeds
    (``speeds``), with the trainings ``ahead`` of it said. Before the server has measured a training there is no
    duration to give: a guess made elsewhere can be wrong by a factor of a hundred on a loaded machine."""
    queue = "" if not ahead else f"; {ahead} run(s) of other viewers are ahead of these, and go first"
    if not speeds or min(speeds) <= 0:
        return (f"{cost:.2g} multiply-adds; no time estimate until this server has finished a training and measured "
                f"its own speed{queue}")
    slow, fast = min(speeds), max(speeds)
    low, high = _seconds(cost / fast), _seconds(cost / slow)
    span = f"about {low}" if low == high else f"{low} to {high}"
    return (f"{span} at this server's measured speeds (its last trainings: {slow:.2g} to {fast:.2g} multiply-adds "
            f"a second){queue}")


def _seconds(s: float) -> str:
    if s < 90:
        return f"{max(1, round(s))} s"
    return f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


def training_cost(configs) -> int:
    """Multiply-adds that training ``configs`` costs, from the models' shapes alone (no tensor is allocated)."""
    from core.nets.layers import estimate

    total = 0
    for c in configs:
        shape, rows = practicum_rows(c.model, c.dataset, c.width)
        per_sample = estimate(rows, shape)["macs"]
        ds = spec(c.dataset)
        train_n, test_n = min(c.train_size or ds.train_size, ds.train_size), ds.test_size
        total += per_sample * c.epochs * (3 * train_n + test_n)  # backward is about twice the forward
    return int(total)
