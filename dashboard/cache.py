"""Streamlit's caches for functions defined in a page script, made once per process.

Streamlit runs a page's file afresh on every run, so ``@st.cache_data`` on a page builds its wrapper again each
time: it reads the function's source and signature to name the cache (``inspect.getsource``), about 0.2 ms per
function. With five to eight cached functions a page, that was a tenth of a session's first run, paid by each of a
class's 200 arrivals. The wrapper made on a function's first run is kept here and handed back for the same code.

Only a function with no closure is kept: one defined inside another would carry the first run's variables.
Streamlit names the cache by the function's source either way, so the cached values are the same ones.
"""

from __future__ import annotations

import threading
from typing import Callable

import streamlit as st

_WRAPPERS: dict = {}
_LOCK = threading.Lock()


def _once(decorator: Callable, options: dict) -> Callable:
    def wrap(fn: Callable) -> Callable:
        if fn.__closure__ is not None:
            return decorator(**options)(fn)
        try:
            key = (decorator, fn.__code__, fn.__defaults__, fn.__kwdefaults__ and tuple(fn.__kwdefaults__.items()),
                   tuple(sorted(options.items())))
            hash(key)
        except TypeError:  # a default or an option that cannot be a key: built every run, as Streamlit would
            return decorator(**options)(fn)
        with _LOCK:
            wrapper = _WRAPPERS.get(key)
            if wrapper is None:
                wrapper = _WRAPPERS[key] = decorator(**options)(fn)
        return wrapper
    return wrap


def data(**options) -> Callable:
    """``st.cache_data(**options)``, its wrapper kept across runs."""
    return _once(st.cache_data, options)


def resource(**options) -> Callable:
    """``st.cache_resource(**options)``, its wrapper kept across runs."""
    return _once(st.cache_resource, options)
