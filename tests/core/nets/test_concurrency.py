"""Many viewers on one server run the lab's analyses on many threads at once. PyTorch's tracing and counting patch
process-wide state (torch.fx's symbolic tracing replaces ``nn.Module.__call__``; FlopCounterMode's module tracker
registers global hooks): run unguarded from two threads, one thread's patch was undone by the other's, and the
server stayed broken for every later viewer. These tests run them side by side and check every answer against the
same analysis run alone, and that nothing stays patched."""

import threading

import pytest
import torch
from torch import nn

from core.nets.layers import build_model, estimate
from core.nets.models import layer_table
from core.lecture.anatomy import PRESETS
from core.nets.receptive_field import receptive_field

CALL = nn.Module.__call__


def _alone(name):
    shape, rows = PRESETS[name]
    model = build_model(rows, shape)
    return layer_table(model, shape), receptive_field(model, (1, *shape)), estimate(rows, shape)


def _side_by_side(work, threads=16, rounds=6):
    errors, answers, start = [], [], threading.Barrier(threads)

    def run(i):
        start.wait()
        try:
            for r in range(rounds):
                answers.append((i, r, work(i)))
        except Exception as exc:  # noqa: BLE001 - any of them is the failure this test looks for
            errors.append(f"{type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(300)
    return errors, answers


def test_tracing_and_counting_on_many_threads_at_once_give_each_the_answer_it_gets_alone():
    names = [n for n in PRESETS if "residual" not in n][:4] + [n for n in PRESETS if "residual" in n][:1]
    want = {n: _alone(n) for n in names}

    def work(i):
        name = names[i % len(names)]
        return name, _alone(name)

    errors, answers = _side_by_side(work)
    assert not errors, errors[:3]
    assert len(answers) == 16 * 6
    for _, _, (name, (table, field, cost)) in answers:
        assert table.equals(want[name][0]) and field.equals(want[name][1]) and cost == want[name][2], name
    assert nn.Module.__call__ is CALL  # nothing left patched for the next viewer
    shape, rows = PRESETS[names[0]]
    assert receptive_field(build_model(rows, shape), (1, *shape)).equals(receptive_field(build_model(rows, shape),
                                                                                           (1, *shape)))


@pytest.mark.slow
def test_sixteen_threads_tracing_the_famous_nets_leave_every_page_working():
    from core.lecture.famous import ARCHITECTURES, build, gradient_field, layer_table as famous_table, photo

    nets = list(ARCHITECTURES)
    built = {n: build(n) for n in nets}
    want = {n: famous_table(built[n])[0]["rf"].tolist() for n in ("AlexNet", "ResNet-18")}

    def work(i):
        name = nets[i % len(nets)]
        df, _ = famous_table(build(name))
        if name in want:
            assert df["rf"].tolist() == want[name]
        gradient_field(built[name], df.iloc[min(2, len(df) - 1)]["node"], photo())
        return name

    errors, answers = _side_by_side(work, threads=16, rounds=1)
    assert not errors, errors[:3]
    assert len(answers) == 16 and nn.Module.__call__ is CALL
    # and afterwards the lab's own analyses still run, as for a new viewer
    shape, rows = PRESETS[next(iter(PRESETS))]
    layer_table(build_model(rows, shape), shape)
    torch.nn.Conv2d(1, 1, 3)(torch.zeros(1, 1, 5, 5))
