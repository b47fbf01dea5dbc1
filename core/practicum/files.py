"""Writing a file so that no reader ever sees half of it: one recipe for the whole lab.

A temporary file in the same folder is written, flushed and fsynced, then
renamed over the target (``os.replace`` is atomic on POSIX and Windows). A
process killed at any point leaves the old file or the new one, and at most a
``.tmp`` file that ``ResultStore.sweep`` clears; on any error the temporary
file is removed and the error raised.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, IO


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], *, binary: bool = False) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it into place atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
