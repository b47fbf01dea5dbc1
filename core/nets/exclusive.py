"""PyTorch's analysis tools that patch process-wide state, made safe for a server's many threads.

A Streamlit server runs every viewer's script on its own thread, in one
process, beside the training threads. Two of PyTorch's tools change what every
thread sees while they run:

- torch.fx's symbolic tracing replaces ``nn.Module.__call__`` and
  ``__getattr__`` for the whole process until it is done. Any module called on
  another thread meanwhile went through this tracer ("module is not installed
  as a submodule"), and two traces at once restored each other's patches in the
  wrong order, leaving the process patched for every later viewer.
- FlopCounterMode's module tracker registers global forward hooks, so modules
  run on other threads entered its bookkeeping of which module is running.

So a trace holds ``PATCHING`` (re-entrant: a trace may run inside a count), and
while it runs, modules called on other threads run as if nothing were patched
(``ThreadTracer``); a count follows only the modules of its own thread
(``flop_counter``).
"""

from __future__ import annotations

import threading

from torch import fx
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.module_tracker import ModuleTracker

PATCHING = threading.RLock()


class ThreadTracer(fx.Tracer):
    """torch.fx's tracer that traces only its own thread: it holds ``PATCHING`` while it traces, and a module
    called on another thread meanwhile (another viewer's page, a training) runs untraced."""

    _owner: int | None = None

    def trace(self, root, concrete_args=None):
        with PATCHING:
            self._owner = threading.get_ident()
            try:
                return super().trace(root, concrete_args)
            finally:
                self._owner = None

    def _elsewhere(self) -> bool:
        return self._owner is not None and threading.get_ident() != self._owner

    def call_module(self, m, forward, args, kwargs):
        if self._elsewhere():
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        if self._elsewhere():
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    @property
    def _autowrap_function_ids(self) -> set[int]:
        # read when any module is called during the trace, to wrap math functions in its globals: not for others'
        return set() if self._elsewhere() else self.__dict__.setdefault("_own_autowrap_ids", set())

    @_autowrap_function_ids.setter
    def _autowrap_function_ids(self, ids: set[int]) -> None:
        self.__dict__["_own_autowrap_ids"] = ids


class _ThisThreadTracker(ModuleTracker):
    """A module tracker whose global hooks ignore modules run on other threads."""

    _owner: int | None = None

    def __enter__(self):
        self._owner = threading.get_ident()
        return super().__enter__()

    def _fw_pre_hook(self, mod, input) -> None:
        if threading.get_ident() == self._owner:
            super()._fw_pre_hook(mod, input)

    def _fw_post_hook(self, mod, input, output) -> None:
        if threading.get_ident() == self._owner:
            super()._fw_post_hook(mod, input, output)


def flop_counter(**kwargs) -> FlopCounterMode:
    """``FlopCounterMode(**kwargs)`` that follows only the modules of the thread that enters it (its operation
    counts are per thread already: a dispatch mode is). Enter it under ``PATCHING``."""
    counter = FlopCounterMode(**kwargs)
    counter.mod_tracker = _ThisThreadTracker()
    return counter
