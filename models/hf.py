"""``hf:PATH``: any local causal language model directory (``save_pretrained`` layout), greedy and batched.

A plain GPT-2 (every reference checkpoint) is read by ``models/gpt2_checkpoint.py`` and run by
``models/gpt2.py`` without importing transformers (3 s of a 10 s benchmark run), with the very floats
of transformers' forward; any other model, and a GPT-2 outside what they mirror (it says why:
``gpt2_checkpoint.unsupported``), loads through transformers' ``AutoModelForCausalLM``. Option ``impl``: ``auto`` (the default: native for a
plain GPT-2 on the CPU), ``native`` (an error naming the reason where it cannot), ``transformers``.

Generation runs a lean decode loop instead of ``model.generate``: per step it only calls the model's
forward on the rows still running and takes the argmax. What makes it fast on small models, where
each step costs mostly per-call overhead rather than arithmetic:

- requests are sorted by prompt length (longest first, so an out-of-memory shows up at once), so
  a batch carries little padding;
- a prompt prefix shared by the whole batch (abcd's long instruction) is run once, on one row, and
  its keys/values are copied to every row; the rest is left-padded behind it ("mid padding": the
  masked columns sit between the shared prefix and each row's own tokens);
- the KV cache is preallocated for the batch's whole budget (``kv_slab.Slab``): a step writes one
  column instead of concatenating the cache; the prefill fills it ``PREFILL_ROWS`` rows at a time;
- finished rows (EOS, a stop string, their own ``max_tokens``) are dropped from the batch at the
  step they finish (rows from the end move into their places: ``_fill_gaps``; a linear-attention
  hybrid's rows ride along instead: its cache cannot drop rows), and the batch stops when every row has;
- a GPT-2 (native, or one transformers loaded) decodes through ``gpt2.step``, the same torch calls
  as its forward without the module stack, the mask rebuilt in every layer and the cache's indexing
  (on a 4-layer model most of a one-row step's time); its first use is checked against the forward
  bit for bit, and forward hooks (interventions) send every step through the forward (a hook on an
  inner module of the native GPT-2 is an error: it would never run);
- GPT-2's ``gelu_new`` runs in place (``lean_activations``: the same floats, fewer allocations).

``HFModel.work`` counts the tokens, context and seconds of prefill and decoding (``Work``).

Greedy answers do not depend on the batch size or on padding: masked columns contribute exact
zeros, and positions are given explicitly per row. A choice request is scored by log-likelihood:
``Response.scores`` holds each option's summed log-probability and ``choice`` the argmax.

Options (``--model-opt``): ``impl`` (auto, native, transformers; see above), ``device`` (auto, cpu, cuda, cuda:1, mps), ``dtype`` (auto, float32,
bfloat16, float16; auto is float32 on CPU and the checkpoint's dtype elsewhere), ``batch_size``
(at most this many rows per forward; halved on out-of-memory, and kept halved). Without it the rows
of a batch are chosen from the requests and the memory: as many of the call's requests as keep the
batch's KV cache within 2 GiB on the CPU (40% of the free memory on a GPU) and its prefill attention
scores within the same budget, up to ``AUTO_ROWS``. A tiny model decodes several times faster per
token in batches of hundreds than of 64: each step's cost is mostly per-call overhead. Batches are
also timed: the first holds at most ``FIRST_ROWS``, each later one as many rows as the last one's
seconds per row fit in ``BATCH_SECONDS`` (60 s, at most a quarter of ``timeout``). ``threads`` (torch's CPU
threads for the whole process; default: torch's own choice), ``timeout`` (seconds each request may
take from the start of its batch, prefill included, default 600: rows unfinished then are errors;
where a batch's steps say its running rows cannot all finish in time, the later half is set aside and
run again in a later batch, with a deadline of its own). Each decoded batch is reported as it
finishes (``Adapter.answered``), so its answers are committed at once, about every ``BATCH_SECONDS``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from oraclebench.models import gpt2, gpt2_checkpoint
from oraclebench.models.base import Adapter, ModelError, check_options, half_precision_warning, shape_stable_attention
from oraclebench.models.kv_slab import Slab, SlabCache, kv_cache, transformers_layer
from oraclebench.tasks.base import Request, Response
from oraclebench.tasks.reading import stop_index

log = logging.getLogger("oraclebench.hf")

WEIGHT_GLOBS = ("*.safetensors", "*.bin", "*.pt", "*.pth")
# Files besides the weights whose content changes answers; they go into the identity hash too.
TOKENIZER_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model",
                   "adapter_config.json")
OPTIONS = ("device", "dtype", "batch_size", "threads", "timeout", "impl")
IMPLS = ("auto", "native", "transformers")
DEFAULT_IMPL = "auto"
DEFAULT_TIMEOUT = 600.0  # seconds a request may decode (from the start of its batch: its rows run side by side)
DTYPES = ("auto", "float32", "bfloat16", "float16")
PREFIX_MIN = 16  # a shared prefix shorter than this is not worth a separate forward
CHECK_ROWS = 8  # rows a lean decode step's first use is checked on against the forward (_lean_matches)
# Rows per prefill forward: a tiny model's prefill over 1,000 rows at once is slower than over 64-row
# chunks (its activations no longer fit the CPU's caches: gpt2-mult, 2,000 prompts, one thread, prefill
# 30% of the matmul limit in batches of 1,024 against 38-48% in batches of 64); decoding keeps the
# whole batch, where more rows per step is faster. On a CPU only: a GPU wants its prefill batches large.
PREFILL_ROWS = 64
# Finished rows leave the batch at every step where one finished: a step's cost grows with its rows, and
# the cache copies at most as many rows as finished (_fill_gaps). Before, they rode along until a quarter
# of the batch had finished, and then every kept row was gathered and written back. Measured on 2,000
# gpt2-mult prompts, two threads, 5 interleaved pairs of processes: decoding 0.74 s best, 0.82 s median,
# against 0.76 s and 0.86 s before; same answers. A share above 1 never drops them (tests).
COMPACT_SHARE = 0.0
AUTO_ROWS = 1024  # rows per batch without batch_size, where memory allows (measured: 256 and 1,000 alike)
FIRST_ROWS = 256  # rows of the first batch, before any is timed (as fast as 1,000 on gpt2-mult, measured)
# A batch's time goal: answers are committed and progress shown about this often. The projection is
# linear (errs small) and the first batch carries the warm-up: 30 s split 1,000 gpt2-mult rows in three.
BATCH_SECONDS = 60.0


def weights_digest(path: Path) -> str:
    """sha256 over the weight files and the tokenizer/config files of a model directory."""
    digest = hashlib.sha256()
    files = sorted({f for pattern in WEIGHT_GLOBS for f in path.glob(pattern)})
    files += [path / name for name in TOKENIZER_FILES if (path / name).is_file()]
    for f in files:
        digest.update(f.name.encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory failure (CUDA, MPS or the CPU allocator)."""
    import torch

    text = str(exc).lower()
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text))


def _transformers_version() -> str:
    import transformers

    return transformers.__version__


def _common_prefix(rows: Sequence[Sequence[int]]) -> int:
    first, n = rows[0], min(map(len, rows))
    for row in rows[1:]:
        k = 0
        while k < n and row[k] == first[k]:
            k += 1
        n = k
    return n


def _gelu_new_class():
    """GPT-2's ``gelu_new`` computed in place: the same floating-point operations in the same order,
    so bit for bit the same values (checked on 10^7 inputs), in one buffer instead of seven.

    transformers' ``NewGELUActivation`` allocates a temporary per operation; on a tiny model those
    allocations took more time than the matmuls (a profile of 1,000 gpt2-mult prompts: the
    activation's mul, add, tanh and pow 0.6 s, every addmm 0.4 s). Multiplying by 0.5 last instead
    of first changes nothing: scaling by a power of two commutes with rounding (short of subnormals).
    """
    import torch
    from transformers.activations import NewGELUActivation

    class InPlaceGeluNew(NewGELUActivation):
        def forward(self, input):  # noqa: A002 - the parent's name
            if torch.is_grad_enabled() and input.requires_grad:  # in-place ops would break autograd
                return super().forward(input)
            return gpt2.gelu_new_(input)

    return NewGELUActivation, InPlaceGeluNew


def lean_activations(model) -> int:
    """Swaps each ``gelu_new`` activation module of ``model`` for its in-place twin (same values, see
    ``_gelu_new_class``); returns how many were swapped."""
    old, new = _gelu_new_class()
    swapped = 0
    for module in model.modules():
        for name, child in module.named_children():
            if type(child) is old:
                setattr(module, name, new())
                swapped += 1
    return swapped


@dataclass
class Work:
    """What the adapter's generation computed, for throughput measures (``scripts/bench_speed.py``).

    ``prefill_tokens``: prompt tokens run through the model (a shared prefix once, padding not
    counted); ``generated_tokens``: the tokens the model chose, the end-of-text that ended a row
    included; ``decode_tokens``: those of them fed back (a finished row that rides along in its batch
    until it is dropped is not counted);
    ``*_context``: the tokens those attended to, summed over them (each token's own context length:
    its position + 1; padding not counted), for the attention's share of the arithmetic;
    ``*_seconds``: wall-clock seconds of each phase (decode: the whole step loop, its Python
    bookkeeping included). On a GPU the phases are told apart only as far as the steps' reading of
    the argmax synchronises them.
    """

    prefill_tokens: int = 0
    prefill_context: int = 0
    prefill_seconds: float = 0.0
    generated_tokens: int = 0
    decode_tokens: int = 0
    decode_context: int = 0
    decode_seconds: float = 0.0


@dataclass
class _Batch:
    """A decoding batch's state. Per request row: ``reqs``, ``budget`` (tokens), ``prompts`` (tokens),
    and what decoding has found: ``tokens`` and ``texts`` (a row's once it has finished; a text
    where finishing decoded it already), ``done``, ``aside``. Per batch row, in batch order:
    ``alive`` (its request row), ``mask`` ``[rows, capacity]``, ``position`` ``[rows, 1]``, ``made``
    ``[rows, max budget]`` (its tokens so far: every running row has made ``step_made``, one a
    step), ``limit`` ``[rows]`` (its budget) and ``ended`` ``[rows]`` (finished, riding along)."""

    reqs: list[Request]
    budget: list[int]
    prompts: list[int]
    mask: object
    position: object
    step_made: int = 0

    def __post_init__(self):
        import torch

        n, dev = len(self.reqs), self.mask.device
        self.tokens: list[list[int]] = [[] for _ in range(n)]
        self.texts: list[str | None] = [None] * n
        self.done, self.aside, self.alive = [False] * n, [False] * n, list(range(n))
        self.made = torch.empty(n, max(self.budget), dtype=torch.long, device=dev)
        self.limit = torch.tensor(self.budget, device=dev)
        self.ended = torch.zeros(n, dtype=torch.bool, device=dev)
        # Tokens read back for a row's stop check (``_stop_hit``): a stop string's length, as a token's text
        # is rarely empty; where they hold fewer characters, the row's other tokens are read too.
        self.reach = max((len(s) for r in self.reqs for s in r.stop), default=0)
        self.stop_chars = frozenset("".join(s for r in self.reqs for s in r.stop))

    def running(self) -> list[int]:
        """The request rows in the batch that have not finished."""
        return [r for r in self.alive if not self.done[r]]

    def select(self, kept: list[int], cache, *others) -> list:
        """Keeps batch rows ``kept`` (row ``j`` becomes row ``kept[j]``) here, in ``cache`` and in each
        of ``others`` (``[rows, ...]`` tensors); returns ``others`` so kept."""
        import torch

        index = torch.tensor(kept, device=self.mask.device)
        cache.batch_select_indices(index)
        self.alive = [self.alive[b] for b in kept]
        self.mask, self.position, self.made, self.limit, self.ended = (
            t[index] for t in (self.mask, self.position, self.made, self.limit, self.ended))
        return [t[index] for t in others]


class HFModel(Adapter):
    """A local causal LM: ``HFModel("/path/to/dir", {"device": "cpu"})``; see the module docstring."""

    def __init__(self, spec: str, options: dict | None = None):
        options = dict(options or {})
        check_options("hf", options, OPTIONS)
        self.path = Path(spec).expanduser()
        self.name = f"hf:{spec}"
        self._check_dir(spec)
        self.max_batch = _positive(options["batch_size"], "batch_size") if "batch_size" in options else AUTO_ROWS
        self.timeout = _seconds(options.get("timeout", DEFAULT_TIMEOUT), "timeout")
        # Rows of the next batch by time, from the last batch's seconds per row (see _time_rows).
        self.timed_rows = FIRST_ROWS
        if "threads" in options:
            import torch

            # Process-wide: a tiny model on a shared machine decodes several times faster on 1 thread.
            torch.set_num_threads(_positive(options["threads"], "threads"))
        self.device, self.dtype_name = self._placement(options.get("device", "auto"), options.get("dtype", "auto"))
        self.manifest = self._read_manifest()
        self.tokenizer, self.model = self._load(spec, options.get("impl", DEFAULT_IMPL))
        if warning := half_precision_warning("hf", self.dtype_name):  # a score must not hang on the batching unnoticed
            log.warning(warning)
        self.digest = weights_digest(self.path)
        # Test and instrumentation hook: called with the row count before every forward batch; an
        # exception it raises is handled as that batch's own (an out-of-memory one triggers back-off).
        self.before_batch: Callable[[int], None] | None = None
        self._pieces: dict[int, str] = {}
        self.work = Work()

    # ------------------------------------------------------------------------------ loading
    def _check_dir(self, spec: str) -> None:
        hint = "give a directory written by save_pretrained (config.json, weights, tokenizer)"
        if not self.path.exists():
            raise ModelError(f"hf:{spec}: no such directory; {hint}")
        if not self.path.is_dir() or not (self.path / "config.json").is_file():
            raise ModelError(f"hf:{spec}: not a model directory (no config.json); {hint}")
        if not any(self.path.glob(g) for g in WEIGHT_GLOBS):
            raise ModelError(f"hf:{spec}: no weights file (model.safetensors or pytorch_model.bin); {hint}")

    def _placement(self, device: str, dtype: str) -> tuple[str, str]:
        import torch

        if dtype not in DTYPES:
            raise ModelError(f"hf: dtype={dtype!r} is not one of {', '.join(DTYPES)}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError(f"hf: device={device} but no CUDA device is available; use device=cpu")
        try:
            kind = torch.device(device).type
        except (RuntimeError, ValueError):
            raise ModelError(f"hf: device={device!r} is not a torch device; use cpu, cuda, cuda:1 or mps") from None
        if dtype == "auto" and kind == "cpu":  # cpu:0 too
            dtype = "float32"
        return device, dtype

    def _read_manifest(self) -> dict | None:
        path = self.path / "manifest.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: unreadable manifest ({exc}); fix or delete it") from None

    def _load(self, spec: str, impl: str):
        """(tokenizer, model): a plain GPT-2 through ``gpt2`` (``impl=native``, and ``auto`` on the CPU),
        anything else through transformers; sets what generation reads of the model."""
        if impl not in IMPLS:
            raise ModelError(f"hf: impl={impl!r} is not one of {', '.join(IMPLS)}")
        why = gpt2_checkpoint.unsupported(self.path) if impl != "transformers" else None
        if impl == "native" and why:
            raise ModelError(f"hf:{spec}: impl=native cannot read this model ({why}); use impl=auto or impl=transformers")
        self.native = impl == "native" or (impl == "auto" and why is None and self.device.split(":")[0] == "cpu")
        # Said once the model is loaded, and kept in the run's summary: which code computed the answers.
        self.loaded_as = ("native GPT-2 (models/gpt2.py)" if self.native else
                          f"transformers ({'impl=transformers' if impl == 'transformers' else why or 'not a CPU'})")
        if self.native:
            tokenizer, model = gpt2_checkpoint.load(self.path, self.device, self.dtype_name)
            config, eos = model.config, gpt2_checkpoint.eos_ids(self.path)
        else:
            tokenizer, model = self._load_transformers(spec)
            config, eos = model.config.get_text_config(decoder=True), model.generation_config.eos_token_id
        self.dtype_name = str(next(model.parameters()).dtype).removeprefix("torch.")
        self.context = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        # Only whole numbers are token ids (a float or a string in a hand-written config matches no token).
        eos = [eos] if isinstance(eos, int) else list(eos) if isinstance(eos, (list, tuple)) else []
        self.eos = {e for e in eos + [tokenizer.eos_token_id] if type(e) is int}
        pad = tokenizer.pad_token_id
        self.pad = pad if pad is not None else (min(self.eos) if self.eos else 0)
        self.token_cap, self.score_cap = self._memory_caps(model, config)
        types = set(getattr(config, "layer_types", None) or ["full_attention"])
        # Linear-attention hybrids keep other state per layer: they get transformers' own cache.
        self.slab = types <= {"full_attention", "sliding_attention", "chunked_attention"}
        # A GPT-2 decodes through the lean step (gpt2.step), checked against its forward at first use:
        # the native one and one transformers loaded alike.
        self.lean = self.slab and (self.native or gpt2.supports(model))
        self.gpt2_config = gpt2.Config.read(config) if self.lean else None
        self.lean_checked: set[bool] = set()  # the step's paths checked against the forward: padded or not
        self.hooked = False
        return tokenizer, model

    def _load_transformers(self, spec: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure is the same usage error
            missing = "" if (self.path / "tokenizer.json").is_file() else " (the directory has no tokenizer.json)"
            raise ModelError(f"hf:{spec}: cannot load the tokenizer{missing}: {type(exc).__name__}: {_first_line(exc)}; "
                             "save the tokenizer beside the model with save_pretrained") from None
        from transformers.utils import logging as hf_logging

        dtype = "auto" if self.dtype_name == "auto" else getattr(torch, self.dtype_name)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # a bar per load is noise in a benchmark's output
        try:
            model = AutoModelForCausalLM.from_pretrained(self.path, dtype=dtype, local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"hf:{spec}: cannot load a causal LM: {type(exc).__name__}: {_first_line(exc)}") from None
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        model.to(self.device).eval()
        # The adapter reads the forward's output by name: a config's return_dict=false would make it a tuple.
        model.config.return_dict = True
        lean_activations(model)
        return tokenizer, model

    def _memory_caps(self, model, config) -> tuple[int, int]:
        """(cache cells, rows x columns, a batch may hold; prefill attention cells, rows x query x key
        columns): the KV cache within 2 GiB on the CPU, within 40% of the free memory on a GPU
        (activations and logits need the rest), and one layer's attention scores within the same."""
        import torch

        layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", 1)
        hidden = getattr(config, "hidden_size", None) or getattr(config, "n_embd", 1)
        heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_head", 1)
        size = next(model.parameters()).element_size()
        budget = 2 << 30
        if self.device.startswith("cuda"):
            budget = int(0.4 * torch.cuda.mem_get_info(torch.device(self.device))[0])
        return max(1, budget // (2 * layers * hidden * size)), max(1, budget // (heads * max(size, 4)))

    def identity(self) -> str:
        return f"hf:{self.path.resolve().name}@{self.digest[:16]}:{self.dtype_name}"

    # ------------------------------------------------------------------------------ batching
    def _batches(self, keys: Sequence, widths: Sequence[int], run: Callable[[list[int]], list[Response]],
                 done: Callable[[list[int], list[Response]], None] | None = None,
                 prompts: Sequence[int] | None = None) -> list[Response]:
        """``run(indices)`` over batches, largest ``keys`` first; ``widths``: cache columns an item needs;
        ``prompts``: the columns its prefill attends over at once (default: ``widths``).

        A batch holds at most ``max_batch`` items, at most ``timed_rows`` (as many as the last batch's
        seconds per row say fit in ``BATCH_SECONDS``), at most ``token_cap`` cache cells (rows times the
        widest row) and at most ``score_cap`` prefill attention cells (rows times the longest prompt
        squared). An out-of-memory batch is retried with half the rows, and the smaller size is kept.
        ``run`` may answer ``None`` for a row it set aside (see ``_decode``): that row goes to a later batch.
        """
        prompts = widths if prompts is None else prompts
        import torch

        order = sorted(range(len(keys)), key=keys.__getitem__, reverse=True)
        out: list[Response | None] = [None] * len(widths)
        while order:
            rows, widest, longest = [], 0, 0
            for i in order[:min(self.max_batch, self.timed_rows)]:
                widest, longest = max(widest, widths[i]), max(longest, prompts[i])
                if rows and ((len(rows) + 1) * widest > self.token_cap
                             or (len(rows) + 1) * longest * longest > self.score_cap):
                    break
                rows.append(i)
            t0 = time.perf_counter()
            try:
                if self.before_batch is not None:
                    self.before_batch(len(rows))
                with torch.inference_mode(), shape_stable_attention(self.device):
                    answers = run(rows)
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled here
                if not is_oom(exc) or len(rows) == 1:
                    raise
                self.max_batch = max(1, len(rows) // 2)
                log.warning("hf: out of memory with %d rows; retrying with batch_size=%d", len(rows), self.max_batch)
                if self.device.startswith("cuda"):
                    torch.cuda.empty_cache()
                continue
            answered = [(i, resp) for i, resp in zip(rows, answers) if resp is not None]
            per_item = (time.perf_counter() - t0) / max(1, len(answered))
            self._time_rows(per_item)
            for i, resp in answered:
                resp.latency = per_item
                out[i] = resp
            if done is not None and answered:
                done(*map(list, zip(*answered)))
            order = [i for i in rows if out[i] is None] + order[len(rows):]  # set aside: first in the next batch
        return out  # type: ignore[return-value]

    def _time_rows(self, per_row: float) -> None:
        """Rows of the next batch: as many as ``per_row`` seconds each fit in the batch's time goal
        (``BATCH_SECONDS``, and a quarter of ``timeout``, so a batch ends well inside its requests'
        deadline). Linear in rows, so it errs small where larger batches cost less per row."""
        goal = min(BATCH_SECONDS, self.timeout / 4)
        self.timed_rows = max(1, min(AUTO_ROWS, int(goal / per_row) if per_row > 0 else AUTO_ROWS))

    def _check_hooks(self) -> None:
        """A forward hook on an inner module of the native GPT-2 would never run (its forward calls no
        module): an intervention must not silently do nothing."""
        if self.native and gpt2.hooked(self.model, inner=True):
            raise ModelError("hf: a forward hook on an inner module runs only with --model-opt impl=transformers "
                             "(the native GPT-2 computes its forward without calling its modules)")

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts))["input_ids"] if texts else []

    def _piece(self, token: int) -> str:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self.tokenizer.decode([token])
        return piece

    # ------------------------------------------------------------------------------ generation
    def complete(self, requests: Sequence[Request]) -> list[Response]:
        self._check_hooks()
        ids = self._encode([r.prompt for r in requests])
        out: list[Response | None] = [None] * len(requests)
        todo = []
        for i, (r, row) in enumerate(zip(requests, ids)):
            if self.context and len(row) >= self.context:
                out[i] = Response(error=f"prompt of {len(row)} tokens does not fit the model's context of {self.context}")
            elif r.max_tokens <= 0 or not row:
                out[i] = Response(text="", error=None if row else "empty prompt")
            else:
                todo.append(i)
        # Sorted by prompt length first: the rows of a batch then need little padding.
        keys = [(len(ids[i]), requests[i].max_tokens) for i in todo]
        widths = [min(len(ids[i]) + requests[i].max_tokens, self.context or 1 << 30) for i in todo]
        run = lambda rows: self._generate([ids[todo[k]] for k in rows], [requests[todo[k]] for k in rows])  # noqa: E731

        def done(rows: list[int], answers: list[Response]) -> None:  # committed as each batch is decoded
            for k, resp in zip(rows, answers):
                self.answered(requests[todo[k]], resp)

        prompts = [len(ids[i]) for i in todo]
        for i, resp in zip(todo, self._batches(keys, widths, run, done, prompts)):
            out[i] = resp
        return out  # type: ignore[return-value]

    def _generate(self, rows: list[list[int]], reqs: list[Request]) -> list[Response]:
        """Greedy continuations of one batch of token rows (see the module docstring)."""
        import torch

        started = time.monotonic()  # the requests' deadline counts from here (prefill included)
        t0 = time.perf_counter()
        n = len(rows)
        budget = [min(r.max_tokens, self.context - len(row)) if self.context else r.max_tokens
                  for r, row in zip(reqs, rows)]
        prefix = _common_prefix(rows) if n > 1 else 0
        prefix = min(prefix, min(map(len, rows)) - 1)
        prefix = prefix if prefix >= PREFIX_MIN else 0
        tails = [row[prefix:] for row in rows]
        width = max(map(len, tails))
        capacity = prefix + width + max(budget)
        # Prefill in chunks of rows on a CPU, where the slab allows (see PREFILL_ROWS); a GPU takes them at once.
        step = PREFILL_ROWS if self.slab and self.device == "cpu" else n
        chunks = [slice(r, min(n, r + step)) for r in range(0, n, step)] if step < n else [slice(None)]
        cache = self._new_cache(capacity, None if prefix else n, slice(None) if prefix else chunks[0])
        dev = self.device
        if prefix:
            self.model(input_ids=torch.tensor([rows[0][:prefix]], device=dev), **kv_cache(self.model, cache), use_cache=True,
                       logits_to_keep=1)
            cache.batch_repeat_interleave(n)
        mask = torch.ones(n, capacity, dtype=torch.long, device=dev)
        ids = torch.full((n, width), self.pad, dtype=torch.long)
        for k, tail in enumerate(tails):
            ids[k, width - len(tail):] = torch.tensor(tail)
            mask[k, prefix:prefix + width - len(tail)] = 0
        mask_prefill = mask[:, :prefix + width]
        positions = (mask_prefill.cumsum(-1) - 1).clamp(min=0)[:, prefix:]
        ids = ids.to(dev)
        parts = []
        for rows_ in chunks:
            for layer in cache.layers if len(chunks) > 1 else ():  # none yet before a first chunk without prefix
                layer.chunk(rows_, prefix)
            parts.append(self.model(input_ids=ids[rows_], attention_mask=mask_prefill[rows_], position_ids=positions[rows_],
                                    **kv_cache(self.model, cache), use_cache=True, logits_to_keep=1).logits[:, -1])
        for layer in cache.layers if len(chunks) > 1 else ():
            layer.chunk(slice(None), prefix + width)
        logits = parts[0] if len(parts) == 1 else torch.cat(parts)
        position = positions[:, -1:].clone()
        t1 = time.perf_counter()
        self.work.prefill_tokens += prefix + sum(map(len, tails))
        self.work.prefill_context += prefix * (prefix + 1) // 2 + sum(len(t) * prefix + len(t) * (len(t) + 1) // 2
                                                                      for t in tails)
        self.work.prefill_seconds += t1 - t0
        self.hooked = self.lean and gpt2.hooked(self.model)  # hooks must run: per batch, they may come and go
        try:
            return self._decode(logits, cache, mask, position, prefix + width, budget, reqs, started,
                                [len(row) for row in rows])
        finally:
            self.work.decode_seconds += time.perf_counter() - t1

    def _decode(self, logits, cache, mask, position, length: int, budget: list[int], reqs: list[Request],
                started: float, prompts: list[int]) -> list[Response | None]:
        """Greedy steps until every row finished, or ``timeout`` after ``started`` (rows unfinished then are
        errors); ``prompts``: each row's prompt tokens (for ``Work``). Where the steps so far say the
        rows still running cannot all finish by then, the later half of them is set aside (answered
        ``None``: ``_batches`` runs them again in a later batch, with a deadline of their own) and the
        rest runs on, faster; again if needed, down to one row.

        The per-row bookkeeping is batched (``_Batch``): a step's tokens go into a tensor, and only
        the rows that may have ended are read back (``_finish``).
        """
        batch = _Batch(reqs, budget, prompts, mask, position)
        running, running_prompts = len(reqs), sum(prompts)  # rows not finished, and their prompt tokens
        deadline = started + self.timeout
        since, steps = time.monotonic(), 0  # the step time is measured over the rows now running
        weights = gpt2.bind(self.model) if self.lean and not self.hooked else None

        def padding(mask):  # the lean step's mask, made again whenever the batch's rows change
            return gpt2.padding_bias(mask, weights.wte.dtype) if weights is not None else None

        bias = padding(mask)
        every = min(1.0, self.timeout / 20)  # not every step: it costs a pass over the rows
        check = since + every
        # Rows leave a batch only from the slab: transformers' linear-attention cache layers cannot drop
        # rows (LinearAttentionLayer has no batch_select_indices; the mixed layers' drops only the keys
        # and values, not the recurrent state), so there every row rides along to the batch's end.
        droppable = self.slab
        while True:
            now = time.monotonic()
            if now > deadline:
                return self._late(batch)
            if droppable and now > check and steps >= 2:
                check = now + every
                left = max(budget[r] for r in batch.running()) - batch.step_made
                # An upper bound: rows stop early at EOS or a stop string.
                kept = (self._set_aside(batch.alive, batch.done, batch.aside)
                        if now + left * (now - since) / steps > deadline else batch.alive)
                if len(kept) < len(batch.alive):
                    logits, = batch.select(kept, cache, logits)
                    bias = padding(batch.mask)
                    running, running_prompts = len(batch.alive), sum(prompts[r] for r in batch.alive)
                    since, steps = now, 0
            steps += 1
            self.work.generated_tokens += running
            nxt = logits.argmax(-1)
            finished = self._finish(batch, nxt)
            running -= len(finished)
            running_prompts -= sum(prompts[batch.alive[b]] for b in finished)
            if not running:
                break
            if droppable and finished and len(batch.alive) - running >= COMPACT_SHARE * len(batch.alive):
                nxt, = batch.select(_fill_gaps([batch.done[r] for r in batch.alive]), cache, nxt)
                bias = padding(batch.mask)
            elif finished:
                batch.ended[finished] = True
            batch.position = batch.position + 1
            if self.context:  # a finished row riding along must not step past the position table; no other row reaches it
                batch.position.clamp_(max=self.context - 1)
            length += 1
            logits = self._step(cache, nxt, batch.position, batch.mask[:, :length], weights,
                                None if bias is None else bias[..., :length])
            # Each running row's new token goes in at position prompt + made - 1 (finished ones only ride along).
            self.work.decode_tokens += running
            self.work.decode_context += running_prompts + running * batch.step_made
        # The raw continuation, stop string included: scoring cuts it (Task.assess), the cache keeps it whole.
        self._decode_texts(batch)
        return [None if a else Response(text=t) for t, a in zip(batch.texts, batch.aside)]

    def _finish(self, batch: _Batch, nxt) -> list[int]:
        """Takes this step's tokens ``nxt`` (``[rows]``) into ``batch``; returns the batch rows that
        finished with them, each given its ``tokens`` (its text too where a stop string was confirmed
        on it) and ``done``. Only the rows that may end are read back: those at their budget, and
        those whose token is end-of-sequence or shares a character with a stop string of the batch
        (no other token can end one: ``_stop_hit``)."""
        import torch

        made, step_made = batch.made, batch.step_made
        made[:, step_made] = nxt
        batch.step_made += 1
        may = batch.limit <= step_made + 1
        marks = [t for t in torch.unique(nxt).tolist()
                 if t in self.eos or not batch.stop_chars.isdisjoint(self._piece(t))]
        if marks:
            may |= torch.isin(nxt, torch.tensor(marks, device=nxt.device))
        rows = (may & ~batch.ended).nonzero().flatten().tolist()
        if not rows:
            return []
        n = step_made + 1
        whole = lambda b: made[b, :n].tolist()  # noqa: E731
        # Whole rows only for rows that end, or whose cheap check needs confirming (or found their last
        # tokens' texts too short): a row's last tokens serve that check (reading every candidate's whole
        # row made a common stop character's steps quadratic in the budget).
        ends, checks = [], []
        for b, t in zip(rows, nxt[rows].tolist()):
            (ends if t in self.eos or n >= batch.budget[batch.alive[b]] else checks).append(b)
        lo = max(0, n - batch.reach)
        ended = [(b, row[:-1] if row[-1] in self.eos else row) for b, row in zip(ends, made[ends, :n].tolist())]
        hits = [b for b, last in zip(checks, made[checks, lo:n].tolist())
                if self._stop_hit(last, batch.reqs[batch.alive[b]].stop, functools.partial(whole, b) if lo else None)]
        for b in hits:  # a hit is confirmed on the properly decoded row by the scoring cut's own rule
            row = whole(b)
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            if stop_index(text, batch.reqs[batch.alive[b]].stop) is not None:
                batch.texts[batch.alive[b]] = text
                ended.append((b, row))
        for b, row in ended:
            batch.tokens[batch.alive[b]], batch.done[batch.alive[b]] = row, True
        return [b for b, _ in ended]

    def _forward(self, cache, ids, position, mask):
        return self.model(input_ids=ids[:, None], attention_mask=mask, position_ids=position,
                          **kv_cache(self.model, cache), use_cache=True).logits[:, -1]

    def _step(self, cache, ids, position, mask, weights, bias):
        """``[rows, vocab]`` logits of one decode step: through ``gpt2.step`` where ``weights`` are given
        (a GPT-2 without hooks; ``bias``: ``gpt2.padding_bias``'s columns of ``mask``), else through the
        model's forward. The lean step's first use on this model is checked bit for bit against the
        forward (``_lean_matches``), once with padding and once without (SDPA gets a mask on one path
        and none on the other; the same torch calls give the same floats, so once each suffices; the
        tests check many shapes); any difference: a warning, and the forward from then on."""
        if weights is None or not self.lean:
            return self._forward(cache, ids, position, mask)
        padded = bias is not None
        if padded not in self.lean_checked:
            self.lean = self._lean_matches(cache, ids, position, mask, weights, bias)
            self.lean_checked.add(padded)
            if not self.lean:
                log.warning("hf: the lean GPT-2 decode step does not give the forward's logits%s under %s; decoding "
                            "through the forward", " with padding" if padded else "",
                            self.loaded_as if self.native else f"transformers {_transformers_version()}")
                return self._forward(cache, ids, position, mask)
        return gpt2.step(weights, self.gpt2_config, cache, ids, position, bias)

    def _lean_matches(self, cache, ids, position, mask, weights, bias) -> bool:
        """Whether the lean step gives the forward's logits bit for bit on ``CHECK_ROWS`` consecutive rows
        of this step (a padded one among them where ``bias`` says the batch has padding); the
        cache is left as it was. A few rows, not the batch: the check runs the same calls as the
        whole batch would, and a first batch of 256 gpt2-mult rows spent 45-65 ms on it (two checks),
        about 7% of a cold run's decoding."""
        padded = (bias[:, 0, 0] != 0).any(-1).nonzero().flatten() if bias is not None else ()
        first = int(padded[0]) if len(padded) else 0
        start = max(0, min(first, len(ids) - CHECK_ROWS))
        rows = slice(start, start + CHECK_ROWS)
        lengths = [layer.length for layer in cache.layers]
        for layer, length in zip(cache.layers, lengths):
            layer.chunk(rows, length)
        try:
            same, _ = gpt2.matches(weights, self.gpt2_config, cache, ids[rows], position[rows],
                                   None if bias is None else bias[rows],
                                   lambda ids_, position_: self._forward(cache, ids_, position_, mask[rows]))
        finally:
            for layer, length in zip(cache.layers, lengths):
                layer.chunk(slice(None), length)
        return same

    @staticmethod
    def _set_aside(alive: list[int], done: list[bool], aside: list[bool]) -> list[int]:
        """Marks the later half of the unfinished rows set aside; returns the batch rows that go on."""
        waiting = [b for b, r in enumerate(alive) if not done[r]]
        if len(waiting) < 2:
            return list(range(len(alive)))
        for b in waiting[len(waiting) - len(waiting) // 2:]:
            aside[alive[b]] = True
        return waiting[:len(waiting) - len(waiting) // 2]

    def _late(self, batch: _Batch) -> list[Response | None]:
        """The rows finished by the deadline keep their answers; the others are errors (those set aside
        are not: they run again later)."""
        late = (f"no complete answer within {self.timeout:g} s (--model-opt timeout={self.timeout:g}); "
                "the decode was stopped")
        self._decode_texts(batch)
        return [None if a else Response(text=t) if ok else Response(error=late)
                for t, ok, a in zip(batch.texts, batch.done, batch.aside)]

    def _decode_texts(self, batch: _Batch) -> None:
        """Fills in the texts of ``batch`` not yet decoded (a stop string's check decodes its row
        already). Row by row: a fast tokenizer's ``batch_decode`` starts its own thread pool, which
        contends with torch's for the cores (measured: 5-10x slower a row inside the decode loop)."""
        for r, text in enumerate(batch.texts):
            if text is None:
                batch.texts[r] = self.tokenizer.decode(batch.tokens[r], skip_special_tokens=True)

    def _stop_hit(self, row: list[int], stop: Sequence[str], whole: Callable[[], list[int]] | None = None) -> bool:
        """Whether a stop string overlaps the text of the last of the tokens ``row`` in their per-token
        texts joined: the cheap check. It reads the fewest trailing tokens whose texts can hold a stop
        string ending in the last one; ``row`` may be the last tokens of a longer row only, which
        ``whole()`` reads where they are too few. Tokenizers that merge bytes or strip spaces per token
        can decode a row otherwise, so a hit is confirmed on the properly decoded row by the scoring
        cut's own rule, ``stop_index`` (a stop string inside the leading whitespace does not end the
        answer; ``_finish``). A missed hit only costs time: the text is cut at the first stop string
        when it is scored.

        A stop string can only overlap the last text if the two share a character: ``_finish`` calls
        this only for rows whose last token does.
        """
        if not stop:
            return False
        piece = self._piece(row[-1])
        need = len(piece) + max(map(len, stop)) - 1  # characters: the last text and a stop string's reach before it
        parts, size = [], 0
        for tok in reversed(row):
            if size >= need:
                break
            parts.append(self._piece(tok))
            size += len(parts[-1])
        else:  # the tokens ran out first
            if whole is not None and size < need:
                return self._stop_hit(whole(), stop)
        tail = "".join(reversed(parts))
        return any(s and tail.find(s, max(0, len(tail) - len(piece) - len(s) + 1)) >= 0 for s in stop)

    def _new_cache(self, capacity: int, rows: int | None = None, window: slice = slice(None)):
        if self.native:
            return SlabCache(functools.partial(Slab, capacity, rows, window))
        from transformers import DynamicCache
        from transformers.cache_utils import Cache

        if self.slab:
            return Cache(layer_class_to_replicate=functools.partial(transformers_layer(), capacity, rows, window))
        return DynamicCache(config=self.model.config)

    # ------------------------------------------------------------------------------ choices
    def choose(self, requests: Sequence[Request]) -> list[Response]:
        """Each option's summed log-probability as a continuation of the prompt; the argmax is the choice."""
        self._check_hooks()
        out: list[Response | None] = [None] * len(requests)
        pairs, seqs = [], []
        for i, r in enumerate(requests):
            split = [self._split(r.prompt, option) for option in r.choices]
            why = self._unscorable(split)
            if why:
                out[i] = Response(error=why)
                continue
            pairs += [(i, k) for k in range(len(split))]
            seqs += split
        widths = [len(c) + len(t) for c, t in seqs]
        scores: dict[tuple[int, int], float] = {}

        def run(rows: list[int]) -> list[Response]:
            for j, value in zip(rows, self._loglik([seqs[j] for j in rows])):
                scores[pairs[j]] = value
            return [Response() for _ in rows]

        if seqs:
            self._batches(widths, widths, run)
        for i, r in enumerate(requests):
            if out[i] is None:
                values = [scores[(i, k)] for k in range(len(r.choices))]
                best = max(range(len(values)), key=values.__getitem__)
                out[i] = Response(text=r.choices[best], choice=best, scores=values)
        return out  # type: ignore[return-value]

    def _unscorable(self, split: list[tuple[list[int], list[int]]]) -> str | None:
        """Why a choice request's (context ids, option ids) pairs cannot be scored, or None."""
        for k, (context, option) in enumerate(split):
            if not context:
                return "empty prompt"
            if not option:  # no tokens: a log-probability of 0, the best there is, whatever the model thinks
                return f"option {k} has no tokens to score"
            if self.context and len(context) + len(option) > self.context:
                return (f"prompt and option {k} ({len(context) + len(option)} tokens) do not fit the model's "
                        f"context of {self.context}")
        return None

    def _split(self, context: str, option: str) -> tuple[list[int], list[int]]:
        """(context ids, option ids), tokenized as one text where that splits cleanly at the boundary."""
        ctx = self._encode([context])[0]
        whole = self._encode([context + option])[0]
        if whole[:len(ctx)] == ctx:
            return ctx, whole[len(ctx):]
        return ctx, self.tokenizer(option, add_special_tokens=False)["input_ids"]

    def _loglik(self, seqs: list[tuple[list[int], list[int]]]) -> list[float]:
        import torch

        rows = [c + t for c, t in seqs]
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for k, row in enumerate(rows):
            ids[k, width - len(row):] = torch.tensor(row)
            mask[k, width - len(row):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        # Left padding puts every option at the end of its row: only the last logits are needed.
        keep = max(len(t) for _, t in seqs) + 1
        # No cache: transformers would make one whose copies of the keys and values SDPA rounds differently
        # from the views it gets otherwise (at some head sizes), and the native GPT-2 passes the views.
        logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                            position_ids=positions.to(self.device), use_cache=False, logits_to_keep=keep).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1).cpu()
        out = []
        for k, (_, option) in enumerate(seqs):
            m = len(option)
            # The token at column width-m+j is predicted by the logits one column earlier.
            picked = [logprobs[k, keep - 1 - m + j, tok].item() for j, tok in enumerate(option)]
            out.append(float(sum(picked)))
        return out


def _fill_gaps(finished: list[bool]) -> list[int]:
    """The rows a batch keeps when its ``finished`` rows leave, in their new order: each running row
    stays where it is, except those past the new end, which move into the gaps finished rows leave
    (so the cache copies at most as many rows as finished, not every kept row).

    >>> _fill_gaps([False, True, False, True, False, False])
    [0, 4, 2, 5]
    """
    kept = [b for b, f in enumerate(finished) if not f]
    end = len(kept)
    movers = iter([b for b in kept if b >= end])
    return [b if not finished[b] else next(movers) for b in range(end)]


def _first_line(exc: BaseException) -> str:
    """The first non-blank line of an exception's message: transformers' load errors run to several."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "")


def _positive(value, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ModelError(f"hf: {name}={value!r} must be a positive integer")
    return number


def _seconds(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if not 0 < number < float("inf"):
        raise ModelError(f"hf: {name}={value!r} must be a positive number of seconds")
    return number
