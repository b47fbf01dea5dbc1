"""Finished trainings on disk: one JSON file per configuration key (``RunResult.to_json``) and, beside it, the
trained weights (``<key>.pt``, ``torch.save`` of the state dict), each written atomically, the least recently
used deleted first when the folder outgrows its cap.

The folder is ``$CONVLAB_RESULTS_DIR`` (default ``~/.cache/convlab/results``); on a Dask cluster every replica
and worker shares it. A damaged or foreign file is ignored and logged, never shown.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from core.limits import ServiceLimits
from core.practicum.datadir import cache_dir
from core.practicum.files import atomic_write
from core.practicum.runs import RunResult

RESULTS_ENV = "CONVLAB_RESULTS_DIR"
TOUCH_EVERY = 60.0  # seconds: a result read again sooner is not marked as used again (a write per rerun, else)
PARSED = 256  # parsed results kept in memory, per store
log = logging.getLogger("convlab.worker")


class ResultStore:
    """Finished runs on disk, one JSON file per configuration key, at most ``max_bytes`` in all.

    A folder that cannot be created or written leaves the store *unavailable*
    (``problem`` says why and which setting to change); nothing raises.
    """

    def __init__(self, root: str | os.PathLike | None = None, max_bytes: float | None = None):
        self.root = Path(root or os.environ.get(RESULTS_ENV) or cache_dir() / "results")
        self.max_bytes = max_bytes if max_bytes is not None else ServiceLimits.from_env().results_mb * 1e6
        self.problem: str | None = None
        # key -> (the file's identity, parsed result): a page rerun reads its results without parsing JSON
        self._parsed: OrderedDict[str, tuple[tuple, RunResult]] = OrderedDict()
        self._parsed_lock = threading.Lock()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.problem = (f"the results folder {self.root} cannot be created ({exc.strerror or exc}); "
                            f"set {RESULTS_ENV} to a writable folder")
            log.warning("results are not stored: %s", self.problem)
            return
        self.sweep()

    def sweep(self, older_than: float = 3600.0) -> int:
        """Delete temporary files that a killed writer left behind; returns how many.

        Only those older than ``older_than`` seconds: a writer in another
        process may be busy with a fresh one (a result is written in well under a second).
        """
        removed, cutoff = 0, time.time() - older_than
        for tmp in self.root.glob(".*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except OSError:  # gone already, or not ours to delete
                pass
        return removed

    def _path(self, key: str, suffix: str = ".json") -> Path:
        if not key.isalnum():
            raise ValueError(f"bad result key {key!r}")
        return self.root / f"{key}{suffix}"

    def get(self, key: str) -> RunResult | None:
        """The stored result, or None; a damaged or foreign file is ignored (and logged), never raised.

        A file already read and not replaced since (same inode and size: every write is a rename) is not parsed
        again; callers share that result and must not change it."""
        path = self._path(key)
        try:
            stat = path.stat()
        except OSError:
            return None
        identity = (stat.st_dev, stat.st_ino, stat.st_size)
        with self._parsed_lock:
            seen = self._parsed.get(key)
        if seen is not None and seen[0] == identity:
            result = seen[1]
        else:
            try:
                result = RunResult.from_json(path.read_text(), key)
            except OSError:
                return None
            except (ValueError, TypeError) as exc:
                log.warning("ignoring %s: not a training result of this lab (%s)", path, exc)
                return None
            with self._parsed_lock:
                self._parsed[key] = (identity, result)
                while len(self._parsed) > PARSED:
                    self._parsed.popitem(last=False)
        if time.time() - stat.st_mtime >= TOUCH_EVERY:
            for used in (path, self._path(key, ".pt")):
                try:
                    os.utime(used)  # recently used: kept longest when the folder is trimmed
                except OSError:
                    pass
        return result

    def put(self, result: RunResult) -> None:
        """Write ``result`` (and its weights, when it has them) atomically under its key; raises OSError (disk
        full, read-only folder) after cleaning up. The weights go first: a result on disk has its weights."""
        if self.problem is not None:
            raise OSError(self.problem)
        if result.weights is not None:
            atomic_write(self._path(result.key, ".pt"), lambda f: f.write(result.weights), binary=True)
        text = result.to_json()
        atomic_write(self._path(result.key), lambda f: f.write(text))
        self.trim()

    def get_weights(self, key: str, max_bytes: int | None = None) -> bytes | None:
        """The stored weights of ``key`` (``torch.save`` bytes), or None (never stored, trimmed, unreadable).

        Raises:
            ValueError: the file is larger than ``max_bytes`` (checked before a byte of it is read)."""
        path = self._path(key, ".pt")
        try:
            if max_bytes is not None and (size := path.stat().st_size) > max_bytes:
                raise ValueError(f"its weights file is {size / 2 ** 20:.1f} MB, more than the "
                                 f"{max_bytes / 2 ** 20:.2f} MB this network's weights take")
            return path.read_bytes()
        except OSError:
            return None

    def trim(self) -> int:
        """Delete the least recently used results until the folder is under its cap; returns how many."""
        try:
            files = [(p.stat().st_mtime, p.stat().st_size, p) for pattern in ("*.json", "*.pt")
                     for p in self.root.glob(pattern)]
        except OSError:
            return 0
        total, removed = sum(size for _, size, _ in files), 0
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            try:
                path.unlink()
                total, removed = total - size, removed + 1
            except OSError:
                pass
        return removed
