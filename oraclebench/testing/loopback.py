"""The HTTP server under every scripted server of the tests (``chatserver``, ``scripted``, ``faultproxy``)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server whose handler threads die with the process, with a listen backlog that holds a
    burst: an adapter opens up to ``concurrency`` (16 by default) connections at once, and socketserver's
    backlog of 5 reset some of them on a loaded machine (a ReadError where the test expected the script's
    answer or the fault it injected)."""

    daemon_threads = True
    request_queue_size = 128
