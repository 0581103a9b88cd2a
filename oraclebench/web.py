"""The results browser behind ``oraclebench serve``: a local Flask app over a results directory.

Pages: the runs; a run's accuracy by task, split and bucket with its instances (filters: wrong
only, held-out only, task, bucket); one instance field by field in colour; and, for a local model,
a box to type an input and see the model's answer next to the oracle's (the-experiment's
``--testui``).

The app only reads: ``records.list_runs`` skips summaries being written, and run files are replaced
atomically, so a run in progress never breaks a page. Records are cached per file and re-read when
the file changes.

Any web page open in the user's browser can send requests to 127.0.0.1, so the app answers only
requests whose ``Host`` is a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``, or the address
given with ``--host``: a DNS-rebinding page's Host is its own name), and the try box, which runs a
model, only for a POST from its own origin (``Origin``/``Referer``) carrying the per-process token of
its form. Everything from a results folder is escaped by the templates; path parts are URL-quoted.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from flask import Flask, abort, render_template, render_template_string, request

from oraclebench.compare import HEADERS as COMPARE_HEADERS, cell_rows
from oraclebench.errors import UsageError
from oraclebench.records import (DamagedFile, Record, list_runs, partial_reason, read_records, scan_runs,
                                 task_complete)
from oraclebench.runner import score_one
from oraclebench.stats import TINY_N, tiny, wilson
from oraclebench.tasks.exchange import shown_share
from oraclebench.textsafe import shown_value

PAGE = 100  # instances per page
REMOTE_PREFIXES = ("vllm:", "openai:")  # served models: the try box would call a server, not a local model
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


# --------------------------------------------------------------------------------------- reading


class RunStore:
    """Runs and their records under a results directory, re-read only when a file changes."""

    def __init__(self, results: Path):
        self.results = Path(results)
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int], list[Record]]] = {}

    def runs(self) -> list[dict]:
        return list(reversed(list_runs(self.results)))  # newest first

    def damaged(self) -> list[str]:
        """One line per damaged summary under the results (shown on every page; those runs are skipped)."""
        return scan_runs(self.results)[1]

    def run(self, run_id: str) -> dict:
        for summary in list_runs(self.results):
            if summary["run_id"] == run_id or Path(summary["path"]).name == run_id:
                return summary
        abort(404, f"no run {run_id!r} under {self.results}/runs")

    def records(self, summary: dict) -> list[Record]:
        path = Path(summary["path"]) / "records.jsonl"
        try:
            stat = path.stat()
        except OSError:
            abort(404, f"run {summary['run_id']} has no records.jsonl")
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(path)
            if cached is None or cached[0] != key:
                cached = (key, read_records(path))
                self._cache[path] = cached
        return cached[1]


class ModelPool:
    """Models loaded for the try box, once each, on first use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._models: dict[str, object] = {}

    def get(self, name: str):
        from oraclebench.models import load_model

        with self._lock:
            if name not in self._models:
                self._models[name] = load_model(name, {})
            return self._models[name]


# --------------------------------------------------------------------------------------- tables


@dataclass
class Row:
    """One line of an accuracy table."""

    name: str
    split: str
    n: int
    correct: int
    errors: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def ci(self) -> tuple[float, float]:
        return wilson(self.correct, self.n)


def interval_text(row: Row) -> str:
    """A row's 95% interval, or where ``n`` is tiny its count (``1/1 right``): an interval of one
    instance spans 20.7-100 and says nothing (``stats.TINY_N``)."""
    if tiny(row.n):
        return f"{row.correct}/{row.n} right (n < {TINY_N}: no interval)"
    lo, hi = row.ci
    return f"{shown_share(lo)} – {shown_share(hi)}"


def failed_text(cell: dict) -> str:
    """``", 9 errors"`` beside a summary cell's accuracy where requests failed (not measured), else nothing."""
    errors = cell.get("errors") if isinstance(cell, dict) else None
    return f", {errors} errors" if errors else ""


def _rows(records: list[Record], key) -> list[Row]:
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return [Row(name, split, len(g), sum(r.correct for r in g), sum(r.error is not None for r in g))
            for (name, split), g in sorted(groups.items())]


def task_tables(records: list[Record]) -> dict[str, dict]:
    """Per task: rows by split (all, then trained, unseen, heldout, ... where there is more than one) and rows by bucket label."""
    out: dict[str, dict] = {}
    for task in sorted({r.task for r in records}):
        recs = [r for r in records if r.task == task]
        splits = _rows(recs, lambda r: ("all", "")) + _rows(recs, lambda r: (r.split, ""))
        if len(splits) <= 2:  # one split: its row repeats "all"
            splits = splits[:1]
        out[task] = {"splits": splits, "buckets": _rows(recs, lambda r: (r.label, r.split))}
    return out


def select(records: list[Record], args) -> list[Record]:
    """The records a run page's filters keep."""
    out = records
    if args.get("task"):
        out = [r for r in out if r.task == args["task"]]
    if args.get("wrong"):
        out = [r for r in out if not r.correct]
    if args.get("heldout"):
        out = [r for r in out if r.split == "heldout"]
    if args.get("bucket"):
        out = [r for r in out if r.label == args["bucket"]]
    return out


# --------------------------------------------------------------------------------------- instances


def field_rows(record: Record) -> list[dict]:
    """Expected and answered value per field, each marked right or wrong (for colouring): the task's
    ``field_rows`` (a record of a task no longer installed gets the default rows)."""
    from oraclebench.tasks import TaskError, get_task
    from oraclebench.tasks.base import default_field_rows

    try:
        rows = get_task(record.task).field_rows
    except TaskError:
        rows = default_field_rows
    return rows(record.expected, record.parsed, record.fields or {})


def answer_lines(record: Record) -> list[dict]:
    """A trace answer line by line: right before the first bad line, wrong at it, unchecked after."""
    bad = (record.detail or {}).get("first_bad_line")
    if not isinstance(record.parsed, (list, tuple)):
        return []
    out = []
    for i, line in enumerate(record.parsed):
        state = "ok" if bad is None or i < bad else ("bad" if i == bad else "after")
        out.append({"i": i, "text": line, "state": state})
    return out


# --------------------------------------------------------------------------------------- typed input


def typed_examples() -> dict[str, str]:
    """``{task: what a user types}`` for every task that reads a typed input (``Task.typed_example``)."""
    from oraclebench.tasks import get_task, typed_tasks

    return {name: get_task(name).typed_example for name in typed_tasks()}


def parse_typed(task_name: str, text: str):
    """A task and the problem typed for it (``Task.read_input``): ``1,0,1,0,1`` (causal), ``47x23``, ...

    Raises: ``TaskError`` for a task that takes no typed input, or text it cannot read.
    """
    from oraclebench.tasks import get_task
    from oraclebench.tasks.base import TaskError

    task = get_task(task_name)
    if task.typed_example is None:
        raise TaskError(f"typing an input is supported for {', '.join(typed_examples())}, not {task_name}")
    try:
        return task, task.read_input(text)
    except TaskError:
        raise
    except ValueError as exc:
        raise TaskError(f"{task_name}: {str(exc).splitlines()[0]}") from None


def run_manifest(summary: dict, model, task_name: str) -> dict | None:
    """What the run's model saw in training for ``task_name``, as the run's records were split: the run's
    ``--heldout``, then the manifest it recorded, then the loaded model's own."""
    from oraclebench.report import task_manifest as recorded
    from oraclebench.runner import task_manifest

    found = recorded(summary, task_name)
    return found if found is not None else task_manifest(model, task_name)


def try_input(pool: ModelPool, model_name: str, task_name: str, text: str, summary: dict | None = None) -> dict:
    """The oracle's answer and the model's on a typed input, scored field by field, and what the input was to
    the model in training (``runner.training_note``, as ``oraclebench try`` says it: trained on, unseen, held out)."""
    from oraclebench.runner import task_trained, training_note
    from oraclebench.tasks.base import TaskError

    try:
        task, problem = parse_typed(task_name, text)
        instance = task.instance(problem, f"{task_name}-typed")
        model = pool.get(model_name)
        manifest = run_manifest(summary or {}, model, task_name)
        task.check_variant(manifest, model_name)  # a model of another world: said, not scored
        asked = task.request(instance)
        response = model.generate([asked])[0]
    except (TaskError, UsageError, ValueError) as exc:
        return {"error": str(exc)}
    except Exception as exc:  # a model that cannot load or answer: shown on the page, never a crash
        return {"error": f"{type(exc).__name__}: {exc}"}
    trained = task_trained(model, task_name)
    record = score_one(instance, asked, response, "", model_name, manifest, cached=False, trained=trained)
    split, note = training_note(task, problem, model_name, manifest, trained)
    return {"record": record, "oracle": task.render_answer(problem, task.solve(problem)), "fields": field_rows(record),
            "lines": answer_lines(record), "split": split, "training": f"{text.strip()}: {note}"}


# --------------------------------------------------------------------------------------- the app


def host_name(host: str) -> str:
    """The name part of a ``Host`` header, lower case: ``[::1]:8765`` -> ``[::1]``, ``a:1`` -> ``a``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[:host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def same_origin(headers, host: str) -> bool:
    """Whether a request's ``Origin`` (or, without one, its ``Referer``) is this server at ``host``."""
    origin = headers.get("Origin")
    if origin is None:
        referer = headers.get("Referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower())


def create_app(results: Path | str, hosts: tuple[str, ...] = ()) -> Flask:
    """The browser over ``results`` (read only); ``hosts``: names answered besides the loopback ones."""
    app = Flask(__name__)
    store, pool = RunStore(Path(results)), ModelPool()
    allowed = {*LOOPBACK_NAMES, *(host_name(h) for h in hosts)}
    token = secrets.token_urlsafe(32)  # per process: a page on another site cannot read it
    app.jinja_env.globals.update(show=shown_value, pct=lambda x: f"{100 * x:.1f}", token=token, ci=interval_text,
                                 path=lambda value: quote(str(value), safe=""), failed=failed_text,
                                 complete=task_complete, why=partial_reason)

    @app.before_request
    def loopback_only():
        if host_name(request.host) not in allowed:
            abort(400, f"this server answers only {', '.join(sorted(allowed))} (Host header {request.host!r})")

    @app.context_processor
    def damaged_files():
        return {"damaged": store.damaged()}

    @app.errorhandler(DamagedFile)
    def damaged_page(exc: DamagedFile):
        # A damaged run file is a page that says so (the other runs stay browsable), never a 500.
        page = '{% extends "base.html" %}{% block main %}<p class="error">{{ message }}</p>{% endblock %}'
        return render_template_string(page, message=str(exc)), 200

    @app.get("/")
    def index():
        runs = store.runs()
        return render_template("index.html", runs=runs, results=str(store.results),
                               a=runs[1]["run_id"] if len(runs) > 1 else "", b=runs[0]["run_id"] if runs else "")

    @app.get("/run/<run_id>")
    def run(run_id: str):
        summary = store.run(run_id)
        records = store.records(summary)
        chosen = select(records, request.args)
        pages = -(-len(chosen) // PAGE)
        page = min(max(0, request.args.get("page", 0, type=int)), max(0, pages - 1))  # "page 4 of 3" was shown
        labels = sorted({r.label for r in records if not request.args.get("task") or r.task == request.args["task"]})
        return render_template("run.html", run=summary, tables=task_tables(records), shown=chosen[page * PAGE:(page + 1) * PAGE],
                               runs=store.runs(), a=summary["run_id"], b="",
                               total=len(chosen), page=page, pages=pages, args=request.args,
                               tasks=sorted({r.task for r in records}), labels=labels, local=_local(summary["model"]),
                               page_url=lambda n: "?" + urlencode({**request.args.to_dict(), "page": n}))

    @app.get("/run/<run_id>/instance/<task>/<instance_id>")
    def instance(run_id: str, task: str, instance_id: str):
        summary = store.run(run_id)
        found = [r for r in store.records(summary) if r.task == task and r.instance_id == instance_id]
        if not found:
            abort(404, f"run {run_id} has no {task} instance {instance_id}")
        r = found[0]
        return render_template("instance.html", run=summary, r=r, fields=field_rows(r), lines=answer_lines(r),
                               local=_local(summary["model"]))

    @app.get("/compare")
    def compare_page():
        a, b = request.args.get("a", ""), request.args.get("b", "")
        cmp, error = None, None
        if a and b:
            cmp, error = compare(store.results, a, b)
        page = render_template("compare.html", cmp=cmp, error=error, a=a, b=b, runs=store.runs(), headers=COMPARE_HEADERS,
                               rows=cmp and cell_rows(cmp), flips=cmp and cmp.flips[:MAX_FLIPS], max_flips=MAX_FLIPS)
        return page, 400 if error else 200

    @app.route("/run/<run_id>/try", methods=["GET", "POST"])
    def try_page(run_id: str):
        summary = store.run(run_id)
        typed = typed_examples()
        tasks = [t for t in sorted({r.task for r in store.records(summary)}) if t in typed]
        task = request.values.get("task") or (tasks[0] if tasks else "")
        text = request.values.get("input", "")
        result = None
        if request.method == "POST":
            if not same_origin(request.headers, request.host) or not secrets.compare_digest(
                    request.form.get("token", ""), token):
                abort(403, "the try box runs a model only for its own form on this page; reload the page and submit again")
            if not _local(summary["model"]):
                result = {"error": f"{summary['model']} is a served model; the try box runs local models only"}
            elif task not in typed:
                result = {"error": f"typing an input is supported for {', '.join(sorted(typed))}, not {task!r}"}
            else:
                result = try_input(pool, summary["model"], task, text, summary)
        return render_template("try.html", run=summary, tasks=tasks, task=task, text=text, result=result,
                               example=typed.get(task, ""), examples=typed, local=_local(summary["model"]))

    return app


MAX_FLIPS = 500  # flipped instances listed on the compare page; the count says how many there are


def compare(results: Path, a: str, b: str):
    """``(Comparison, None)`` of runs ``a`` and ``b`` (run ids, ``MODEL@latest``): what ``oraclebench
    compare`` computes (``oraclebench.compare``), or ``(None, the one line saying why not)``."""
    from oraclebench.compare import compare_runs

    try:
        return compare_runs(results, a, b), None
    except UsageError as exc:
        return None, str(exc)


def _local(model: str) -> bool:
    return not model.startswith(REMOTE_PREFIXES)


def serve(results: Path | str, host: str = "127.0.0.1", port: int = 8765):
    """A threaded WSGI server for the browser (``.serve_forever()``; ``.server_port`` for port 0)."""
    from werkzeug.serving import make_server

    extra = () if host in ("0.0.0.0", "::", "") else (host,)
    return make_server(host, port, create_app(results, extra), threaded=True)
