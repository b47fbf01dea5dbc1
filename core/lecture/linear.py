"""The linear layer as rotation and squashing (lecture section 3).

``y = f(W x + b)``. By the SVD, ``W = U diag(s) V^T``: a rotation (or
reflection) ``V^T``, a scaling along the axes ``diag(s)``, and another rotation
``U``. The offset ``b`` translates; the non-linearity ``f`` squashes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

SQUASHES = ("relu", "leaky relu", "tanh", "sigmoid", "none")


def point_cloud(kind: str = "grid", n: int = 400, seed: int = 0) -> pd.DataFrame:
    """2D points with a ``t`` column to colour them by (so a point can be followed).

    ``grid``: a square grid on [-1, 1]^2; ``spiral``: two interleaved spiral arms.
    """
    if kind == "grid":
        side = max(2, int(math.sqrt(n)))
        g = np.linspace(-1, 1, side)
        x, y = np.meshgrid(g, g)
        t = np.arange(side * side) / (side * side - 1)
        return pd.DataFrame({"x": x.ravel(), "y": y.ravel(), "t": t})
    if kind == "spiral":
        rng = np.random.default_rng(seed)
        half = n // 2
        r = np.linspace(0.05, 1, half)
        arms = []
        for arm in (0, 1):
            theta = 3 * math.pi * r + arm * math.pi
            arms.append(np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + rng.normal(0, 0.01, (half, 2)))
        pts = np.concatenate(arms)
        return pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1], "t": np.concatenate([r, -r])})
    raise ValueError(f"kind must be grid or spiral, got {kind!r}")


def squash(z: torch.Tensor, name: str) -> torch.Tensor:
    """Apply one of ``SQUASHES`` element-wise."""
    if name == "relu":
        return F.relu(z)
    if name == "leaky relu":
        return F.leaky_relu(z, 0.1)
    if name == "tanh":
        return torch.tanh(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "none":
        return z
    raise ValueError(f"squash must be one of {', '.join(SQUASHES)}, got {name!r}")


@dataclass
class Decomposition:
    u: np.ndarray
    s: np.ndarray
    vt: np.ndarray
    det: float
    angle_v: float  # degrees of the first rotation V^T
    angle_u: float  # degrees of the second rotation U
    reflects: bool  # det < 0: the map flips orientation
    collapses: bool  # det ~ 0: the plane is squeezed onto a line (or point)

    def describe(self) -> str:
        if self.collapses:
            return "det ≈ 0: the map collapses the plane onto a line; information is lost."
        first = f"rotate by {self.angle_v:.0f}°, " if round(self.angle_v) != 0 else ""
        if self.reflects:  # U = rotation(angle_u) · flip of the second axis
            last = f"mirror the second axis, then rotate by {self.angle_u:.0f}°"
        else:
            last = f"rotate by {self.angle_u:.0f}°"
        return (f"{first}scale by {self.s[0]:.2f} and {self.s[1]:.2f}, {last}; det = {self.det:.2f}"
                f"{' (negative: a reflection)' if self.reflects else ''}.")


def _angle(m: np.ndarray) -> float:
    """The angle of the first column, in (-180, 180], with 0 for any float noise at the seam."""
    a = float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))
    a = round(a, 9) + 0.0
    return 180.0 if a == -180.0 else a


def decompose(w: np.ndarray) -> Decomposition:
    """SVD of a 2x2 matrix as rotate · scale · rotate, with the angles a person would name.

    The SVD is unique only up to signs: turning both V and U by 180° gives the
    same map, and equal singular values leave V free. So V^T is kept a pure
    rotation within (-90°, 90°] (0° when the scales are equal: one rotation
    says it all), and U takes the rest, with the reflection, if any, as a
    mirror of the second axis before U's rotation. For a 30° rotation this
    reads "scale by 1 and 1, rotate by 30°", never -180° and -150°.
    """
    w = np.asarray(w, dtype=np.float64)
    u, s, vt = np.linalg.svd(w)
    if np.linalg.det(vt) < 0:  # keep V^T a pure rotation; move the reflection into U
        vt[1] *= -1
        u[:, 1] *= -1
    if np.isclose(s[0], s[1], rtol=1e-9, atol=1e-12):  # a scaled rotation (or reflection): V is free, take I
        vt = np.eye(2)
        u = w / s[0] if s[0] > 0 else np.eye(2)
    elif not -90.0 < _angle(vt) <= 90.0:  # the same map with both rotations turned by 180°
        vt, u = -vt, -u
    det = float(np.linalg.det(w))
    return Decomposition(u, s, vt, det, _angle(vt), _angle(u), det < 0, abs(det) < 1e-9 * max(1.0, s[0] ** 2))


def matrix_from(angle_deg: float, sx: float, sy: float, shear: float = 0.0) -> np.ndarray:
    """A 2x2 map built as rotation · shear · scale, for friendlier sliders."""
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])


def stages(points: pd.DataFrame, w: np.ndarray, b: np.ndarray, squash_name: str) -> pd.DataFrame:
    """The cloud after each step: input, V^T, diag(s), U (= W x), + b, squash. Long table with ``stage``."""
    d = decompose(w)
    x = torch.tensor(points[["x", "y"]].to_numpy(), dtype=torch.float64)  # (N, 2)
    steps = [("1 input", x)]
    steps.append(("2 rotate Vᵀ", x @ torch.tensor(d.vt).T))
    steps.append(("3 scale diag(s)", steps[-1][1] * torch.tensor(d.s)))
    steps.append(("4 rotate U = W x", steps[-1][1] @ torch.tensor(d.u).T))
    steps.append(("5 offset + b", steps[-1][1] + torch.tensor(b, dtype=torch.float64)))
    steps.append((f"6 squash: {squash_name}", squash(steps[-1][1], squash_name)))
    frames = [pd.DataFrame({"stage": name, "x": v[:, 0].numpy(), "y": v[:, 1].numpy(), "t": points["t"].to_numpy()})
              for name, v in steps]
    return pd.concat(frames, ignore_index=True)
