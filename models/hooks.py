"""Forward hooks on the decoder layers of a HuggingFace causal LM: read and overwrite hidden states.

Seed 004 forked ``modeling_llama.py`` to move hidden states from one pass into another. Here the
same intervention is two context managers over ``register_forward_hook`` (after lm-eval's
``hf_steered.py``), so any supported architecture works unmodified:

- ``capture(model, layers)`` records the output of each listed decoder layer;
- ``transplant(model, states, rows, cols)`` writes given vectors over a layer's output at the given
  (row, position) pairs, so every later layer, and every later position through attention, reads
  the transplanted residual stream.

"Layer ``i``" always means the output of decoder block ``i`` (``model.model.layers[i]`` for Llama,
Mistral and Qwen; ``model.transformer.h[i]`` for GPT-2), 0-based. Both context managers remove every
hook in ``finally``, also when the forward pass raises.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator, Sequence

from oraclebench.models.base import ModelError

# model_type -> attribute path of the decoder block list, from the *ForCausalLM object.
LAYOUTS: dict[str, str] = {
    "llama": "model.layers",
    "mistral": "model.layers",
    "qwen2": "model.layers",
    "qwen3": "model.layers",
    "gpt2": "transformer.h",
}


def unwrap(model):
    """The ``*ForCausalLM`` inside a peft wrapper (LoRA layers stay in place inside it)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def decoder_layers(model) -> list:
    """The decoder blocks of ``model``, in order; an unsupported layout is a one-line ``ModelError``."""
    inner = unwrap(model)
    kind = getattr(getattr(inner, "config", None), "model_type", type(inner).__name__)
    path = LAYOUTS.get(kind)
    if path is None:
        raise ModelError(f"transplant: architecture {kind!r} is not supported; supported: {', '.join(sorted(LAYOUTS))}")
    obj = inner
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ModelError(f"transplant: hook point {path!r} not found on {type(inner).__name__} ({kind})")
    return list(obj)


def parse_layers(spec: str | Sequence[int] | None, n_layers: int) -> list[int]:
    """``"all"``, ``"none"``/``""``, ``"2-3"``, ``"0,2,5"``, ``"-1"`` (the last) or a list -> sorted layer indices.

    >>> parse_layers("1-2,4", 6), parse_layers("all", 3), parse_layers("none", 3), parse_layers("-1", 4)
    ([1, 2, 4], [0, 1, 2], [], [3])
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return list(range(n_layers))
    if isinstance(spec, str) and spec.strip().lower() in ("", "none"):
        return []
    out: list[int] = []
    parts = spec.replace(";", ",").split(",") if isinstance(spec, str) else [str(int(i)) for i in spec]
    for part in parts:
        m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", part)
        if not m:
            raise ModelError(f"transplant: layers={spec!r}: write all, none, a range 2-3 or a list 0,2,5")
        lo, hi = (int(g) + n_layers if int(g) < 0 else int(g) for g in (m[1], m[2] or m[1]))
        if hi < lo:
            raise ModelError(f"transplant: layers={spec!r}: the range {part.strip()} is empty; write it low-high")
        out.extend(range(lo, hi + 1))
    bad = [i for i in out if not 0 <= i < n_layers]
    if bad:
        raise ModelError(f"transplant: layers={spec!r}: the model has layers 0..{n_layers - 1}, not {bad}")
    return sorted(set(out))


def _hidden(output):
    """The hidden-state tensor of a block's output (a tensor in transformers 5; a tuple before)."""
    return output[0] if isinstance(output, tuple) else output


def _replace(output, hidden):
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


def _resolve(model, layers: Sequence[int]) -> list:
    blocks = decoder_layers(model)
    for i in layers:
        if not 0 <= i < len(blocks):
            raise ModelError(f"transplant: hook point layer {i} not found; the model has layers 0..{len(blocks) - 1}")
    return blocks


@contextmanager
def capture(model, layers: Sequence[int]) -> Iterator[dict]:
    """Record the output hidden states of ``layers``: yields ``{layer: tensor (batch, seq, hidden)}``,
    filled by the forward passes run inside the block (the last pass wins)."""
    blocks = _resolve(model, layers)
    seen: dict[int, object] = {}
    handles = []
    try:
        for i in layers:
            def hook(module, args, output, i=i):
                seen[i] = _hidden(output)
            handles.append(blocks[i].register_forward_hook(hook))
        yield seen
    finally:
        for h in handles:
            h.remove()


@contextmanager
def transplant(model, states: dict, rows, cols) -> Iterator[None]:
    """Overwrite the output of each layer ``L`` in ``states`` at positions ``(rows[k], cols[k])`` with
    ``states[L][k]`` (shape ``(len(rows), hidden)``), for every forward pass run inside the block.

    The write is out of place, so gradients flow to whatever produced ``states`` and to the rest of
    the pass alike. A count or width mismatch raises instead of writing a shifted span.
    """
    blocks = _resolve(model, list(states))
    handles = []
    try:
        for layer, values in states.items():
            def hook(module, args, output, values=values, layer=layer):
                hidden = _hidden(output)
                if values.shape != (len(rows), hidden.shape[-1]):
                    raise ModelError(f"transplant: layer {layer}: {tuple(values.shape)} states for "
                                     f"{len(rows)} positions of width {hidden.shape[-1]}")
                new = hidden.clone()
                new[rows, cols] = values.to(hidden.dtype)
                return _replace(output, new)
            handles.append(blocks[layer].register_forward_hook(hook))
        yield
    finally:
        for h in handles:
            h.remove()


def hook_count(model) -> int:
    """Forward hooks currently registered on the decoder layers (0 after every context exits)."""
    return sum(len(block._forward_hooks) for block in decoder_layers(model))
