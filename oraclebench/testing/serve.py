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
import re
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

    Raises ``RuntimeError`` if it exits or is not up in ``startup_seconds``: its first line says which and
    the log's error line (``log_error``), the lines after it are the log's tail.
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
            log = log_path.read_text(errors="replace")
            state = f"exited with {proc.returncode}" if proc.poll() is not None else f"not up after {seconds:.0f} s"
            raise RuntimeError(f"transformers serve on {url} {state} ({log_error(log)}):\n{log[-2000:]}")
        time.sleep(0.5)


def log_error(log: str) -> str:
    """The line of a server's log that says why it stopped: its last error line (``OSError: ...``, click's
    ``Error: No such option ...``, which a long usage text may push out of the tail), else its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"(\w+\.)*\w*Error\b", line)]
    return (errors or lines or ["empty log"])[-1]
