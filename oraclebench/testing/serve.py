"""Start ``transformers serve`` on a local checkpoint, bound to 127.0.0.1, for tests and benchmarks.

>>> with transformers_serve("/path/to/checkpoint") as url:   # doctest: +SKIP
...     load_model(f"vllm:/path/to/checkpoint@{url}/v1")

The server runs offline (``HF_HUB_OFFLINE=1``) with a private, empty ``HF_HOME`` (its ``/v1/models``
answers 500 when the hub cache folder is missing), one torch thread (a tiny model is several
times faster so on a shared CPU), and is always stopped on exit, also when startup fails.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def transformers_serve(checkpoint: Path | str, port: int | None = None, args: Sequence[str] = (),
                       startup_seconds: float = 180.0, threads: int = 1) -> Iterator[str]:
    """Serve ``checkpoint``; yields the base URL ``http://127.0.0.1:PORT`` once ``/health`` answers.

    Raises ``RuntimeError`` with the server log's tail if it exits or is not up in ``startup_seconds``.
    """
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="oraclebench-serve-") as home:
        Path(home, "hub").mkdir()
        env = {**os.environ, "HF_HOME": home, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads),
               "TOKENIZERS_PARALLELISM": "false"}
        log_path = Path(home, "serve.log")
        cmd = [sys.executable, "-c", "from transformers.cli.transformers import main; main()", "serve",
               str(checkpoint), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", *args]
        with log_path.open("w") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                _wait_healthy(proc, url, startup_seconds, log_path)
                yield url
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def _wait_healthy(proc: subprocess.Popen, url: str, seconds: float, log_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-2000:]
            state = f"exited with {proc.returncode}" if proc.poll() is not None else f"not up after {seconds:.0f} s"
            raise RuntimeError(f"transformers serve on {url} {state}:\n{tail}")
        time.sleep(0.5)
