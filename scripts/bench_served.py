"""How much the served adapter's concurrency buys, and whether it keeps a batching server busy.

    python scripts/bench_served.py                                  # a tiny local model on transformers serve
    python scripts/bench_served.py --checkpoint PATH --serve-arg=--continuous-batching
    python scripts/bench_served.py --url http://127.0.0.1:8000/v1   # a server already running (its one model)
    python scripts/bench_served.py --url http://127.0.0.1:8000/v1 --model NAME   # one of the models it lists

Both passes score the same multiplication prompts through ``vllm:MODEL@URL`` (no cache), first with
``concurrency=1`` (one request at a time) and then with ``--concurrency`` (default 16), after a
warm-up request; it prints both rates and their ratio, and checks that both gave the same answers.
Without ``--checkpoint`` or ``--url`` an untrained tiny GPT-2 is built (speed does not depend on
training). The gain depends on the server: vLLM batches concurrent requests; ``transformers serve``
without ``--continuous-batching`` generates one at a time, so there it only hides HTTP round trips.

During each pass a background thread samples, every ``--sample-every`` seconds (default 0.05), the
requests the adapter has in flight (in their HTTP call) and the server's batch: vLLM's Prometheus
gauges ``vllm:num_requests_running`` (requests in the running batch) and ``vllm:num_requests_waiting``
(requests queued, not in it yet), from ``/metrics`` beside the API (``http://HOST:PORT/metrics`` for
``http://HOST:PORT/v1``, summed over engines and models). Each pass prints the mean and max of each,
the share of samples the batch was full (requests waiting while a batch ran: a continuous-batching
server such as vLLM admits waiting requests at its next step unless it is at a limit, its
``--max-num-seqs``, token budget or KV cache; printed as "batch full (requests queued behind it)")
and idle (nothing running). A server
without these gauges (``transformers serve`` has no ``/metrics``) gets one line saying so, and only
the client side is shown. The metrics are read only from the host and port of the URL as given.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUNNING, WAITING = "vllm:num_requests_running", "vllm:num_requests_waiting"
METRICS_TIMEOUT = 2.0  # seconds for one GET /metrics: a sample never holds the sampler longer


def tiny_checkpoint(out: Path) -> Path:
    """An untrained tiny GPT-2 whose tokenizer covers the multiplication prompts (``save`` keeps
    transformers' progress bars out of the output)."""
    from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2

    texts = ["Q: What is 0123456789 × 0123456789? Show your work. A:\n= (carries ,)\n", "abcdef"]
    tok = build_tokenizer(texts)
    return save(tiny_gpt2(tok, n_embd=64, n_layer=2, n_head=4, n_positions=128), tok, out)


def instances(n: int, seed: int):
    from oraclebench.tasks import get_task

    task = get_task("multiplication")
    return task.fresh(n, seed, task.config(a_digits=(1, 3), b_digits=(1, 3)))


# ----------------------------------------------------------------------------------- server metrics


def metrics_url(api_url: str) -> str:
    """Where vLLM serves its metrics for the API at ``api_url``: ``/metrics`` at the server's root
    (``http://h:8000/v1`` -> ``http://h:8000/metrics``; a path before ``/v1`` is kept)."""
    return re.sub(r"/v\d+/?$", "", api_url.rstrip("/")) + "/metrics"


def parse_gauges(text: str, names: tuple[str, ...] = (RUNNING, WAITING)) -> dict[str, float]:
    """The value of each gauge in ``names`` from Prometheus' text format, summed over its series (one
    per engine under vLLM's data parallelism, one per model); a gauge absent from ``text`` is absent
    from the result. Source: the Prometheus exposition format (``name{labels} value [timestamp]``)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(?:\{.*\})?\s+(\S+)", line)
        if not m or m.group(1) not in names:
            continue
        try:
            value = float(m.group(2))
        except ValueError:
            continue
        if not math.isnan(value):
            out[m.group(1)] = out.get(m.group(1), 0.0) + value
    return out


def _direct() -> urllib.request.OpenerDirector:
    """An opener that goes to the URL as given, never through a proxy from the environment."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def read_gauges(url: str) -> dict[str, float]:
    """The running and waiting gauges at ``url`` (a ``/metrics`` URL); ``OSError`` or ``ValueError`` if
    the server does not answer or has not both gauges."""
    with _direct().open(url, timeout=METRICS_TIMEOUT) as resp:
        gauges = parse_gauges(resp.read().decode("utf-8", "replace"))
    if RUNNING not in gauges or WAITING not in gauges:
        raise ValueError(f"no {RUNNING} / {WAITING} gauges")
    return gauges


def probe_metrics(url: str) -> str | None:
    """None if ``url`` serves both gauges, else why not (one line)."""
    try:
        read_gauges(url)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return str(getattr(exc, "reason", None) or exc)
    return None


# ----------------------------------------------------------------------------------- sampling


@dataclass
class Load:
    """What the sampler saw during one pass: the client's requests in flight at every sample, and
    the server's running and waiting gauges at the samples where ``/metrics`` answered."""

    in_flight: list[int] = field(default_factory=list)
    running: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    missed: int = 0  # samples where the server's metrics did not answer in time

    def full_share(self) -> float:
        """Share of the server samples with requests waiting while a batch ran: the batch at its limit."""
        return _share([r > 0 and w > 0 for r, w in zip(self.running, self.waiting)])

    def idle_share(self) -> float:
        """Share of the server samples with no request running."""
        return _share([r == 0 for r in self.running])


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class Sampler:
    """Samples ``model.in_flight`` and, given a metrics URL, the server's gauges every ``every``
    seconds in a background thread, between ``with`` entry and exit (one sample at each end too)."""

    def __init__(self, model, metrics: str | None, every: float = 0.05):
        self.model, self.metrics, self.every = model, metrics, every
        self.load = Load()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=METRICS_TIMEOUT + 1)

    def _loop(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.every):
                self._sample()
                return

    def _sample(self) -> None:
        self.load.in_flight.append(self.model.in_flight)
        if self.metrics is None:
            return
        try:
            gauges = read_gauges(self.metrics)
        except (OSError, ValueError):
            self.load.missed += 1
            return
        self.load.running.append(gauges[RUNNING])
        self.load.waiting.append(gauges[WAITING])


# ----------------------------------------------------------------------------------- passes


@dataclass
class Pass:
    """One timed pass: its concurrency, seconds, completions, errors and the load sampled during it."""

    concurrency: int
    seconds: float
    completions: list[str]
    errors: int
    load: Load


def timed_pass(spec: str, concurrency: int, insts, metrics: str | None = None, every: float = 0.05) -> Pass:
    """One pass over ``insts`` through ``spec`` at ``concurrency``, sampled as ``Sampler`` says."""
    from oraclebench.models import load_model
    from oraclebench.runner import evaluate

    model = load_model(spec, {"concurrency": str(concurrency)})
    with Sampler(model, metrics, every) as sampler:
        t0 = time.perf_counter()
        records = evaluate(model, insts, f"bench-c{concurrency}")
        seconds = time.perf_counter() - t0
    return Pass(concurrency, seconds, [r.completion for r in records], sum(r.error is not None for r in records),
                sampler.load)


def load_line(load: Load) -> str:
    """The sampled load of one pass, in one line."""
    client = f"in flight (client): mean {_mean(load.in_flight):4.1f}, max {max(load.in_flight, default=0)}"
    if not load.running:
        return f"  {client}  ({len(load.in_flight)} samples)"
    missed = f", {load.missed} without metrics" if load.missed else ""
    return (f"  {client} | server batch (running): mean {_mean(load.running):4.1f}, max {max(load.running):g}"
            f" | waiting: mean {_mean(load.waiting):4.1f}, max {max(load.waiting):g}"
            f" | batch full (requests queued behind it) {load.full_share():4.0%}, idle (nothing running) {load.idle_share():4.0%}  ({len(load.in_flight)} samples{missed})")


def run_passes(spec: str, api_url: str, n: int = 64, concurrency: int = 16, seed: int = 0,
               every: float = 0.05) -> tuple[str | None, str, list[Pass]]:
    """(why the server has no metrics or None, the metrics URL, [sequential pass, concurrent pass])."""
    insts = instances(n, seed)
    url = metrics_url(api_url)
    missing = probe_metrics(url)
    metrics = None if missing else url
    timed_pass(spec, 1, insts[:2])  # warm-up: connections, first-call allocations in the server
    return missing, url, [timed_pass(spec, c, insts, metrics, every) for c in (1, concurrency)]


def served_name(spec: str) -> str:
    """``spec`` with the model the server answers for named (``vllm:http://h/v1`` -> ``vllm:m@http://h/v1``,
    the one model the server lists). Raises ``ModelError`` (one line) if no server answers there, or it
    lists several models and ``spec`` names none, or not the one named."""
    from oraclebench.models import load_model

    model = load_model(spec)
    return f"vllm:{model.model}@{model.base_url}"


def speedup_line(seq: Pass, con: Pass, one_at_a_time: bool) -> str:
    """The ratio of the two passes, which way it goes, and, for a server known to answer one request at
    a time (``transformers serve`` without ``--continuous-batching``), why it stays near 1."""
    line = (f"speed-up: {seq.seconds / con.seconds:.2f}x (sequential time / concurrent time; "
            f"above 1: concurrency is faster)")
    if one_at_a_time:
        line += ("; transformers serve answers one request at a time unless started with --continuous-batching "
                 "(--serve-arg=--continuous-batching), so here concurrency only hides HTTP round trips")
    return line


def measure(spec: str, api_url: str, args: argparse.Namespace, one_at_a_time: bool = False) -> int:
    spec = served_name(spec)
    print(f"server: {spec}", flush=True)
    # The first answer can be slow (a continuous-batching transformers serve: 40 s here): say what runs.
    print(f"measuring: a warm-up request (a server's first answer can take a minute), then {args.n} prompts "
          f"one at a time, then {args.n} with {args.concurrency} in flight", flush=True)
    missing, url, (seq, con) = run_passes(spec, api_url, args.n, args.concurrency, args.seed, args.sample_every)
    if missing:
        print(f"server batch: not shown, no vLLM metrics at {url} ({missing}); the client's requests in flight only")
    else:
        print(f"server batch: {RUNNING} and {WAITING} from {url}, sampled every {args.sample_every * 1000:.0f} ms")
    print(f"prompts: {len(seq.completions)} multiplication (1-3 digits), greedy, no cache")
    for name, p in (("sequential", seq), ("concurrent", con)):
        rate = len(p.completions) / p.seconds
        print(f"{name} (concurrency={p.concurrency}): {p.seconds:7.2f} s  {rate:7.2f} requests/s  errors {p.errors}")
        print(load_line(p.load))
    print(speedup_line(seq, con, one_at_a_time))
    same = seq.completions == con.completions
    print(f"same answers in both passes: {same}")
    return 0 if same and not (seq.errors or con.errors) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Without --url it starts transformers serve on 127.0.0.1 with --checkpoint (default: a tiny "
               "random-weight GPT-2); that server answers one request at a time unless given "
               "--serve-arg=--continuous-batching.")
    parser.add_argument("--url", help="base URL of a running OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 "
                                      "(--model is needed only if it lists several models)")
    parser.add_argument("--model", default="", help="served model name, with --url (default: the one the server lists)")
    parser.add_argument("--checkpoint", type=Path,
                        help="without --url: serve this checkpoint folder with transformers serve "
                             "(default: a tiny random-weight GPT-2)")
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra transformers serve argument, e.g. --serve-arg=--continuous-batching")
    parser.add_argument("--n", type=int, default=64, help="prompts per pass (default 64)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the local server (default 1)")
    parser.add_argument("--sample-every", type=float, default=0.05,
                        help="seconds between samples of the requests in flight and the server's batch (default 0.05)")
    args = parser.parse_args(argv)
    for name in ("n", "concurrency", "sample_every", "threads"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    for given, name in ((args.checkpoint, "--checkpoint"), (args.serve_arg, "--serve-arg"), (args.threads != 1, "--threads")):
        if args.url and given:
            parser.error(f"{name} is for the server this script starts; with --url the server is already running")
    if args.url and not url_ok(args.url):
        parser.error(f"--url {args.url}: not a server's base URL; write it as http://HOST:PORT/v1")
    if args.model and not args.url:
        parser.error("--model names one of a running server's models: give its --url too")
    if args.checkpoint and not (args.checkpoint / "config.json").is_file():
        what = "no such model directory" if not args.checkpoint.is_dir() else "no config.json in it: not a model directory"
        parser.error(f"--checkpoint {args.checkpoint}: {what}; give a folder saved by save_pretrained "
                     f"(e.g. $ORACLEBENCH_HOME/models/gpt2-mult after oraclebench train gpt2-mult)")
    from oraclebench.models import ModelError

    try:
        return serve_and_measure(args)
    except ModelError as exc:  # no server at --url, or not the model named: its one line says which and the fix
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


def url_ok(url: str) -> bool:
    """Whether ``url`` reads as an http(s) base URL with a host (``http://127.0.0.1:8000/v1``)."""
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def serve_and_measure(args: argparse.Namespace) -> int:
    """Measure at ``--url``, or on a ``transformers serve`` started here for ``--checkpoint``."""
    if args.url:
        prefix = f"{args.model}@" if args.model else ""
        return measure(f"vllm:{prefix}{args.url}", args.url, args)

    from oraclebench.testing.serve import transformers_serve

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or tiny_checkpoint(Path(tmp) / "tiny")
        what = "" if args.checkpoint else " (a tiny random-weight GPT-2: speed does not depend on training)"
        batching = "--continuous-batching" in args.serve_arg
        print(f"starting transformers serve {checkpoint}{what}{' with continuous batching' if batching else ''}: "
              f"waiting for it to answer /health", flush=True)
        try:
            with transformers_serve(checkpoint, args=args.serve_arg, threads=args.threads) as url:
                return measure(f"vllm:{checkpoint}@{url}/v1", f"{url}/v1", args, one_at_a_time=not batching)
        except RuntimeError as exc:
            if not str(exc).startswith("transformers serve on"):
                raise
            # The server exited or never answered: the first line says which, and the log's error line why.
            print(f"bench_served.py: error: {str(exc).splitlines()[0].rstrip(':')}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
