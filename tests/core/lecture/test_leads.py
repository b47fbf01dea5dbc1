"""The lead sentences of the lecture's charts (what a chart shows, in the lecture's words), against PyTorch and
hand-worked examples."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.lecture.padding import padded_lead, padded_views
from core.lecture.sparsity import Stack1d, connection_diagram, diagram_lead

SIGNAL = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 5.0, 7.0])


@pytest.mark.parametrize("amount, value", [(1, 4.0), (3, -2.5)])
def test_the_padded_signal_is_torchs(amount, value):
    said = padded_lead(padded_views(SIGNAL, amount, value))
    x = torch.tensor(SIGNAL)[None, None]
    for mode, args in {"zeros": ("constant", 0.0), "constant": ("constant", value), "reflect": ("reflect", None),
                       "replicate": ("replicate", None), "circular": ("circular", None)}.items():
        padded = F.pad(x, (amount, amount), mode=args[0], **({"value": args[1]} if args[1] is not None else {}))
        cells = [f"[{v:g}]" if i < amount or i >= amount + len(SIGNAL) else f"{v:g}"
                 for i, v in enumerate(padded.ravel().tolist())]
        assert f"{mode}: {' '.join(cells)}" in said, (mode, said)
    assert said.startswith(f"The signal padded by {amount} per side")


@pytest.mark.parametrize("stack, unit, said", [
    # 9 -> 7 -> 5; unit 1 of layer 2 reads layer 1's 1..3, which read the input's 1..5: 3 + 9 of 21 + 15 edges
    (Stack1d(n=9, kernel_size=3, layers=2), 1, "output unit 1 depends on 12 of 36 connections. Units it sees: "
     "layer 2: 1 of 5 units (positions 1 to 1); layer 1: 3 of 7 units (positions 1 to 3); the input: 5 of 9 units "
     "(positions 1 to 5)"),
    # dilation 2: 9 -> 5 -> 1; the unit reads layer 1's 0, 2, 4 and they read every other input, 0 to 8
    (Stack1d(n=9, kernel_size=3, dilation=2, layers=2), 0, "output unit 0 depends on 12 of 18 connections. Units it "
     "sees: layer 2: 1 of 1 units (positions 0 to 0); layer 1: 3 of 5 units (positions 0 to 4); the input: 5 of 9 "
     "units (positions 0 to 8)"),
])
def test_the_connection_diagram_says_what_the_unit_sees(stack, unit, said):
    nodes, edges, _ = connection_diagram(stack, unit)
    assert diagram_lead(nodes, edges, unit) == f"Connections of a 2-layer stack; {said}"
