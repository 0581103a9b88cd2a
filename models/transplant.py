"""``transplant:PATH``: answer judge requests with seed 004's hidden-state transplant, on any local HF causal LM.

For a choice request with ``spans`` (the two candidate explanations) and ``span_prompts``:

1. arguer pass, once per span: the model reads ``span_prompts[k] + spans[k]``; the outputs of the
   selected decoder layers over the span's tokens are kept;
2. chooser pass, once per request: the model reads the choice prompt, in which each span occurs
   verbatim, with those kept states written over the same layers at the span's positions
   (``models.hooks.transplant``); the answer is the option with the higher log-probability after
   the prompt, and ``Response.scores`` are the options' log-probabilities.

Alignment is exact by construction: every text is tokenized as separate segments (prefix, span 1,
middle, span 2, suffix for the chooser; arguer prompt + span for the arguer), so span ``k`` is the
same token ids in both passes and position ``i`` of one is position ``i`` of the other; this is
checked before each chooser pass and a mismatch raises. With no layers selected nothing is
transplanted, the prompt is tokenized as one text, and the answer is the plain log-likelihood
choice that ``hf:PATH`` gives.

Options, in the name (``transplant:PATH?layers=2-3&lora=DIR``) or as ``--model-opt KEY=VALUE``
(which wins):

- ``layers``: ``all``, ``none``, a range ``2-3``, a list ``0,2``, ``-1`` for the last. Default: the
  ``transplant.layers`` of ``PATH/manifest.json`` (what ``oraclebench train judge-transplant`` trained
  with), else ``all``;
- ``lora=DIR``: a peft LoRA adapter applied to both passes;
- ``device`` (default ``cuda`` if available, else ``cpu``), ``dtype`` (``float32``, ``bfloat16``,
  ``float16``, ``float64``: the seed kept its residual stream in float64; 16 bits get a warning:
  a choice can then depend on the batching, see ``half_precision_warning``);
- ``batch_size`` (sequences per forward pass, default 16) and ``wave`` (requests whose arguer states
  are held at once, default 64: memory is ``wave x 2 x layers x span tokens x hidden`` values).

Batching: for each wave, all arguer passes run in batches, then all chooser passes, longest first;
sequences are right-padded, so positions and causal attention over the real tokens are those of an
unpadded pass and each row's answer is read at its own last token. Cost per request: two arguer
passes and one chooser pass (none with no layers selected).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from urllib.parse import parse_qsl

from oraclebench.models.base import Adapter, ModelError, check_options, half_precision_warning, shape_stable_attention
from oraclebench.models.hooks import capture, decoder_layers, parse_layers, transplant, unwrap
from oraclebench.tasks.base import Request, Response

DTYPES = ("float32", "float64", "bfloat16", "float16")
log = logging.getLogger("oraclebench.transplant")


# --------------------------------------------------------------------------- tokenizing by segments


@dataclass(frozen=True)
class Encoded:
    """One choice request as token ids: the chooser sequence, the arguer sequences and where spans sit."""

    chooser: list[int]  # by segments: span k is ``span_ids[k]`` at ``span_starts[k]``
    span_starts: list[int]
    span_ids: list[list[int]]
    arguers: list[list[int]]  # arguer sequence k ends with ``span_ids[k]``
    choice_ids: list[int]  # the one token of each option after the prompt
    whole: list[int]  # the prompt tokenized as one text, as ``hf:`` does

    def plain(self) -> "Encoded":
        """The request as ``hf:`` reads it (no spans, nothing to transplant)."""
        return Encoded(self.whole, [], [], [], self.choice_ids, self.whole)


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def lead_ids(tokenizer) -> list[int]:
    """The special tokens the tokenizer puts before a text (Llama's BOS; none for GPT-2 and charlm)."""
    full = tokenizer("0")["input_ids"]
    plain = _ids(tokenizer, "0")
    return list(full[: len(full) - len(plain)]) if full[len(full) - len(plain):] == plain else []


def choice_ids(tokenizer, prompt: str, choices: Sequence[str], whole: Sequence[int] | None = None) -> list[int]:
    """The token of each option after ``prompt``, read as ``hf:`` reads it: ``tok(prompt + option)`` minus
    ``tok(prompt)`` where that splits cleanly, else the option alone. A multi-token option is an error."""
    ctx = list(whole) if whole is not None else tokenizer(prompt)["input_ids"]
    out = []
    for option in choices:
        full = tokenizer(prompt + option)["input_ids"]
        ids = full[len(ctx):] if full[: len(ctx)] == ctx else _ids(tokenizer, option)
        if len(ids) != 1:
            raise ModelError(f"transplant: option {option!r} is {len(ids)} tokens after the prompt; "
                             "the adapter scores single-token options such as '1'/'2'")
        out.append(ids[0])
    return out


def encode(tokenizer, request: Request, lead: Sequence[int] = ()) -> Encoded:
    """Tokenize a choice request by segments; each span must occur verbatim, in order, in the prompt.

    Span ``k`` is tokenized once, as its own text, and those ids go into both its arguer sequence and
    the chooser sequence. For tokenizers that split at every span boundary (the charlm task tokenizers
    do: the judge prompt puts a space or a newline before and after each explanation) the chooser
    sequence is exactly the whole-prompt tokenization; for others it may differ at the boundaries.
    """
    if len(request.span_prompts) != len(request.spans):
        raise ModelError(f"transplant: {len(request.spans)} spans but {len(request.span_prompts)} span prompts; "
                         "each span needs the arguer prompt it continues")
    chooser, starts, span_ids, at = list(lead), [], [], 0
    for k, span in enumerate(request.spans):
        found = request.prompt.find(span, at)
        if not span or found < 0:
            raise ModelError(f"transplant: span {k + 1} does not occur verbatim (after span {k}) in the prompt")
        chooser += _ids(tokenizer, request.prompt[at:found])
        ids = _ids(tokenizer, span)
        starts.append(len(chooser))
        span_ids.append(ids)
        chooser += ids
        at = found + len(span)
    chooser += _ids(tokenizer, request.prompt[at:])
    arguers = [list(lead) + _ids(tokenizer, p) + ids for p, ids in zip(request.span_prompts, span_ids)]
    whole = tokenizer(request.prompt)["input_ids"]
    return Encoded(chooser, starts, span_ids, arguers, choice_ids(tokenizer, request.prompt, request.choices, whole),
                   whole)


# --------------------------------------------------------------------------- batched passes


def pad_right(seqs: Sequence[Sequence[int]], pad_id: int, device):
    """Right-padded ids and attention mask: real tokens keep positions 0..n-1 and never see a pad."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids.to(device), mask.to(device)


def _longest_first(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def arguer_states(model, encs: Sequence[Encoded], layers: Sequence[int], batch_size: int, pad_id: int) -> list[list[dict]]:
    """Per request, per span: ``{layer: (span_len, hidden)}``, the arguer pass's outputs over the span."""
    inner = unwrap(model)
    flat = [(r, k) for r, e in enumerate(encs) for k in range(len(e.arguers))]
    seqs = [encs[r].arguers[k] for r, k in flat]
    out: list[list[dict]] = [[{} for _ in e.arguers] for e in encs]
    for group in _longest_first([len(s) for s in seqs], batch_size):
        ids, mask = pad_right([seqs[i] for i in group], pad_id, inner.device)
        with capture(model, layers) as seen:
            inner.base_model(input_ids=ids, attention_mask=mask, use_cache=False)
        for row, i in enumerate(group):
            r, k = flat[i]
            end = len(seqs[i])
            n = len(encs[r].span_ids[k])
            # A copy, so that the batch's full hidden states are freed once the batch is done.
            out[r][k] = {layer: seen[layer][row, end - n:end].clone() for layer in layers}
    return out


def chooser_logprobs(model, encs: Sequence[Encoded], states: Sequence[Sequence[dict]] | None, batch_size: int,
                     pad_id: int):
    """Log-probabilities (over the vocabulary) of the token after each chooser prompt, states transplanted.

    ``states[r][k]`` are the arguer states of span ``k`` of request ``r`` (``None`` or empty dicts:
    no transplant). Returns a ``(len(encs), vocab)`` tensor in the input order.
    """
    import torch

    inner = unwrap(model)
    head = inner.get_output_embeddings()
    rows_out = [None] * len(encs)
    for group in _longest_first([len(e.chooser) for e in encs], batch_size):
        ids, mask = pad_right([encs[r].chooser for r in group], pad_id, inner.device)
        plan = _plan(encs, states, group, ids)
        if plan is None:
            hidden = inner.base_model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        else:
            with transplant(model, *plan):
                hidden = inner.base_model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        last = torch.tensor([len(encs[r].chooser) - 1 for r in group], device=hidden.device)
        logits = head(hidden[torch.arange(len(group), device=hidden.device), last]).float()
        for row, r in enumerate(group):
            rows_out[r] = torch.log_softmax(logits[row], dim=-1)
    return torch.stack(rows_out)


def _plan(encs, states, group, ids):
    """(states by layer, rows, cols) for one chooser batch, after checking that the ids line up."""
    import torch

    if not states or not any(k for r in group for k in states[r]):
        return None
    rows, cols, values = [], [], {}
    for row, r in enumerate(group):
        enc = encs[r]
        for k, (start, span) in enumerate(zip(enc.span_starts, enc.span_ids)):
            got = ids[row, start:start + len(span)].tolist()
            if got != span:
                raise ModelError(f"transplant: span {k + 1} of a request is misaligned in the chooser pass "
                                 f"(ids at {start}: {got[:8]}... != {span[:8]}...)")
            for layer, value in states[r][k].items():
                if value.shape[0] != len(span):
                    raise ModelError(f"transplant: span {k + 1} has {len(span)} tokens in the chooser pass "
                                     f"but {value.shape[0]} arguer states")
                values.setdefault(layer, []).append(value)
            rows += [row] * len(span)
            cols += range(start, start + len(span))
    device = ids.device
    stacked = {layer: torch.cat(v) for layer, v in values.items()}
    return stacked, torch.tensor(rows, device=device), torch.tensor(cols, device=device)


# --------------------------------------------------------------------------- loading


def parse_spec(spec: str, options: dict) -> tuple[str, dict]:
    """``PATH?k=v&k=v`` plus ``--model-opt`` options (which win) -> (path, options)."""
    path, _, query = spec.partition("?")
    return path, {**dict(parse_qsl(query, keep_blank_values=True)), **options}


def fingerprint(path: Path | None) -> str | None:
    """sha256 of a model or adapter directory's weights, tokenizer and config (keys the response cache)."""
    if path is None:
        return None
    from oraclebench.models.hf import weights_digest

    digest = hashlib.sha256(weights_digest(Path(path)).encode())
    adapter = Path(path) / "adapter_config.json"
    if adapter.is_file():
        digest.update(adapter.read_bytes())
    return digest.hexdigest()[:16]


def read_manifest(path: Path) -> dict | None:
    file = Path(path) / "manifest.json"
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None


def load(path: str | Path, lora: str | None = None, device: str | None = None, dtype: str = "float32"):
    """(model in eval mode, tokenizer) from a local HF directory, with an optional LoRA adapter."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    if not (path / "config.json").is_file():
        raise ModelError(f"transplant: {path} is not a HuggingFace model directory (no config.json); "
                         "train one with `oraclebench train judge-transplant` or give a local checkpoint")
    if dtype not in DTYPES:
        raise ModelError(f"transplant: dtype={dtype!r}; choose one of {', '.join(DTYPES)}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"transplant: device={device} but no CUDA device is available; use device=cpu")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), local_files_only=True)
    if lora:
        if not (Path(lora) / "adapter_config.json").is_file():
            raise ModelError(f"transplant: lora={lora} has no adapter_config.json; give a directory saved by peft")
        from peft import PeftModel

        with quiet_peft():
            model = PeftModel.from_pretrained(model, lora)
    decoder_layers(model)  # an unsupported architecture fails here, at load time
    return model.to(device).eval(), tokenizer


@contextlib.contextmanager
def quiet_peft():
    """peft wraps a model after reading its ``is_gradient_checkpointing``, which transformers 5.x
    deprecated with a FutureWarning on every read. The call is peft's, not ours, and the user cannot
    act on it: that one warning is silenced around peft's wrapping, nothing else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


class TransplantModel(Adapter):
    """The ``transplant:`` adapter (see the module docstring for options)."""

    def __init__(self, spec: str, options: dict | None = None):
        path, opts = parse_spec(spec, dict(options or {}))
        check_options("transplant", opts, sorted({"layers", "lora", "device", "dtype", "batch_size", "wave"}))
        self.path = Path(path).expanduser()
        self.name = f"transplant:{spec}"
        manifest = read_manifest(self.path)
        self.manifest = manifest
        self.dtype = opts.get("dtype", "float32")
        self.lora = opts.get("lora") or None
        self.model, self.tokenizer = load(self.path, self.lora, opts.get("device"), self.dtype)
        if warning := half_precision_warning("transplant", self.dtype):
            log.warning(warning)
        default = ((manifest or {}).get("transplant") or {}).get("layers", "all")
        self.layers = parse_layers(opts.get("layers", default), len(decoder_layers(self.model)))
        self.rows = _positive(opts.get("batch_size", 16), "batch_size")
        self.wave = _positive(opts.get("wave", 64), "wave")
        self.lead = lead_ids(self.tokenizer)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.passes = {"arguer": 0, "chooser": 0}  # sequences run, for the cost check in the tests
        layers = ",".join(map(str, self.layers)) or "none"
        lora = f":lora@{fingerprint(Path(self.lora))}" if self.lora else ""
        self._identity = f"transplant:{self.path.resolve().name}@{fingerprint(self.path)}:{self.dtype}:layers={layers}{lora}"

    def identity(self) -> str:
        return self._identity

    def choose(self, requests: Sequence[Request]) -> list[Response]:
        import torch

        out: list[Response] = []
        for start in range(0, len(requests), self.wave):
            wave = requests[start:start + self.wave]
            encs = [encode(self.tokenizer, r, self.lead) for r in wave]
            if not self.layers:  # nothing to transplant: read the prompt exactly as hf: does
                encs = [e.plain() for e in encs]
            with torch.no_grad(), shape_stable_attention(str(self.model.device)):
                states = None
                if self.layers:
                    states = arguer_states(self.model, encs, self.layers, self.rows, self.pad_id)
                    self.passes["arguer"] += sum(len(e.arguers) for e in encs)
                logp = chooser_logprobs(self.model, encs, states, self.rows, self.pad_id)
                self.passes["chooser"] += len(encs)
            for req, enc, row in zip(wave, encs, logp):
                scores = [float(row[i]) for i in enc.choice_ids]
                best = max(range(len(scores)), key=scores.__getitem__)
                out.append(Response(text=req.choices[best], choice=best, scores=scores))
                self.answered(req, out[-1])  # committed wave by wave, not when every wave is done
        return out

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        # Counted as failed requests, not wrong answers, and the run goes on with the other tasks.
        why = "transplant: answers choice requests only (the judge task); score generation tasks with hf:PATH"
        return [Response(error=why) for _ in requests]


def _positive(value, name: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n <= 0:
        raise ModelError(f"transplant: {name}={value!r} must be a positive integer")
    return n
