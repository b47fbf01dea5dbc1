"""A ``streamlit run`` of the lab (or of another script) on a free port, for the browser benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DONE = "[data-testid=stApp][data-test-script-state=notRunning]"  # Streamlit's finished-run signal


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict, script: Path = ROOT / "dashboard" / "app.py", preexec_fn=None,
          port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start the server with ``env`` on top of this one's (on ``port``, else a free one); returns it and its base
    URL once healthy."""
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=ROOT,
                            env={**os.environ, **env}, preexec_fn=preexec_fn,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                return proc, base
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError("streamlit did not start")


@contextlib.contextmanager
def served(env: dict, script: Path | None = None, port: int | None = None):
    """``serve`` for a ``with`` block: yields the base URL, and stops the server at the block's end."""
    proc, base = serve(env, *([script] if script else []), port=port)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(20)
