"""GPT-2's forward as plain torch calls: the whole model for a plain GPT-2 checkpoint, without
importing transformers, and the lean decode step for any GPT-2 (this one, or one transformers loaded).

Why: a tiny reference GPT-2 (4 layers of 128) answers 2,000 multiplication prompts in about 2.5 s
of arithmetic, but importing transformers' model code (``GPT2LMHeadModel`` pulls in
``modeling_utils``, ``torch._dynamo``, sympy, scipy) costs 3 s of a 10 s benchmark run, and a
decode step through its module stack costs about 1.9 ms of Python against 0.3 ms of arithmetic
for one row; a step through ``forward`` still costs 1.2 ms, the lean ``step`` 0.65 ms (one thread).

Source: the arithmetic is transformers' ``GPT2LMHeadModel.forward`` with SDPA attention
(``models/gpt2/modeling_gpt2.py`` and ``integrations/sdpa_attention.py``, transformers 5.x),
call for call, on tensors named as its state dict names them; the attention mask follows its
rule (``masking_utils.sdpa_mask`` with ``_ignore_causal_mask_sdpa``: no mask, and SDPA's
``is_causal``, where no column is padding). The same calls on the same tensors give the same
floats: ``tests/test_gpt2.py`` checks logits and answers bit for bit against transformers over
shapes, padding, shared prefixes, prefill chunks and decode steps, and ``HFModel`` checks the
lean step against the model's forward at its first use on every model (with padding and without).

Reading a checkpoint directory into this model (and saying why one is not read) is
``models/gpt2_checkpoint.py``'s.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

# Config values the forward here assumes (another value is another computation).
FIXED = {"model_type": "gpt2", "activation_function": "gelu_new", "add_cross_attention": False,
         "reorder_and_upcast_attn": False, "is_encoder_decoder": False, "chunk_size_feed_forward": 0,
         "return_dict": True}


@dataclass(frozen=True)
class Config:
    """The numbers of a GPT-2's ``config.json`` that its forward uses (GPT2Config's names)."""

    vocab_size: int
    n_embd: int
    n_head: int
    n_layer: int
    n_positions: int
    n_inner: int | None = None
    layer_norm_epsilon: float = 1e-5
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    tie_word_embeddings: bool = True

    @classmethod
    def read(cls, source: Any) -> Config:
        """From a ``config.json`` mapping or a transformers config object (missing keys: GPT2Config's defaults)."""
        get = source.get if isinstance(source, dict) else lambda key, default=None: getattr(source, key, default)
        values = {}
        for field in dataclasses.fields(cls):
            value = get(field.name, None)
            required = field.default is dataclasses.MISSING
            values[field.name] = value if value is not None or required else field.default
        return cls(**values)

    def scaling(self, layer: int) -> float:
        """The attention logits' scale in ``layer`` (``GPT2Attention.scaling``)."""
        scale = (self.n_embd // self.n_head) ** -0.5 if self.scale_attn_weights else 1.0
        return scale / float(layer + 1) if self.scale_attn_by_inverse_layer_idx else scale


@dataclass
class Output:
    """What the adapter reads of a forward: ``logits``, ``[rows, kept columns, vocab]``."""

    logits: Any


# ---------------------------------------------------------------------------------------- the arithmetic
def gelu_new_(x):
    """GPT-2's ``gelu_new`` (transformers' ``NewGELUActivation``) computed in place on ``x``: the same
    floating-point operations in the same order, so bit for bit the same values (checked on 10^7
    inputs), in one buffer instead of seven. Multiplying by 0.5 last instead of first changes nothing:
    scaling by a power of two commutes with rounding (short of subnormals)."""
    import torch

    out = torch.pow(x, 3.0)
    out.mul_(0.044715).add_(x).mul_(math.sqrt(2.0 / math.pi)).tanh_().add_(1.0)
    return out.mul_(x).mul_(0.5)


def causal_mask(attention_mask, rows: int, q_len: int, past: int, device):
    """The boolean ``[rows, 1, q_len, past + q_len]`` mask SDPA gets (True: attended), or ``None`` where
    transformers' rule leaves it to SDPA's ``is_causal``: no padding among the columns, and either one
    query, as many queries as columns, or an empty cache with padding only after the queries' columns."""
    import torch
    from torch.nn import functional as F

    kv_len = past + q_len
    padding = None
    if attention_mask is not None:
        padding = attention_mask.view(rows, -1).to(device=device, dtype=torch.bool)
        if padding.shape[-1] < kv_len:
            padding = F.pad(padding, (0, kv_len - padding.shape[-1]))
        padding = padding[:, :kv_len]
    if (q_len == 1 or kv_len == q_len) and (padding is None or bool(padding.all())):
        return None
    if past == 0 and (padding is None or (bool(padding[:, :q_len].all()) and not bool(padding[:, q_len:].any()))):
        return None
    queries = torch.arange(q_len, device=device) + past
    allowed = torch.arange(kv_len, device=device)[None, None, None, :] <= queries[None, None, :, None]
    if padding is not None:
        allowed = allowed & padding[:, None, None, :]
    return allowed.expand(rows, -1, q_len, kv_len)


def _attend(q, k, v, mask, scaling: float):
    from torch.nn import functional as F

    q_len = q.shape[2]
    causal = q_len > 1 and mask is None
    if causal and k.shape[2] > q_len:  # SDPA's is_causal aligns upper-left: only the first q_len columns
        k, v = k[:, :, :q_len], v[:, :, :q_len]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, scale=scaling, is_causal=causal)
    return out.reshape(out.shape[0], -1, q_len, v.shape[-1]).transpose(1, 2).contiguous()


def _conv1d(x, layer):
    """transformers' ``Conv1D``: ``x @ weight + bias`` with the weight stored ``[in, out]``."""
    import torch

    return torch.addmm(layer.bias, x.view(-1, x.size(-1)), layer.weight).view(*x.shape[:-1], layer.weight.shape[-1])


def forward(model, config: Config, input_ids, attention_mask=None, position_ids=None, cache=None, keep: int = 0):
    """``[rows, columns, vocab]`` logits of the last ``keep`` columns (0: all), as
    ``GPT2LMHeadModel(input_ids=..., attention_mask=..., position_ids=..., cache=...,
    logits_to_keep=keep).logits`` gives them (without a cache: with ``use_cache=False``; transformers'
    default makes a cache of its own, whose copies of the keys and values SDPA on the CPU rounds apart
    from the views at some head sizes).

    Args:
        model: a module tree with GPT-2's parameter names (``transformer.wte.weight``,
            ``transformer.h.0.attn.c_attn.weight``, ... ``lm_head.weight``): transformers'
            ``GPT2LMHeadModel`` or ``GPT2LM``.
        config: its numbers.
        input_ids: ``[rows, q]`` int64.
        attention_mask: ``[rows, cached + q]`` 1 where a column is attended (None: all).
        position_ids: ``[rows, q]`` (None: the columns after the cache's).
        cache: None, or a key/value cache whose ``update(keys, values, layer)`` appends columns and
            returns the layer's keys and values so far, and ``get_seq_length()`` counts them.
        keep: how many last columns to compute logits for (0: all).
    """
    import torch
    from torch.nn import functional as F

    core = model.transformer
    rows, q_len = input_ids.shape
    past = cache.get_seq_length() if cache is not None else 0
    embeds = F.embedding(input_ids, core.wte.weight)
    if position_ids is None:
        position_ids = (torch.arange(q_len, device=embeds.device) + past).unsqueeze(0)
    hidden = embeds + F.embedding(position_ids, core.wpe.weight)
    mask = causal_mask(attention_mask, rows, q_len, past, embeds.device)
    width, eps = config.n_embd, config.layer_norm_epsilon
    shape = (rows, q_len, -1, width // config.n_head)
    for i, block in enumerate(core.h):
        residual = hidden
        x = F.layer_norm(hidden, (width,), block.ln_1.weight, block.ln_1.bias, eps)
        q, k, v = _conv1d(x, block.attn.c_attn).split(width, dim=2)
        k, v = k.view(shape).transpose(1, 2), v.view(shape).transpose(1, 2)
        if cache is not None:
            k, v = cache.update(k, v, i)
        out = _attend(q.view(shape).transpose(1, 2), k, v, mask, config.scaling(i))
        hidden = _conv1d(out.reshape(rows, q_len, -1).contiguous(), block.attn.c_proj) + residual
        residual = hidden
        x = F.layer_norm(hidden, (width,), block.ln_2.weight, block.ln_2.bias, eps)
        hidden = residual + _conv1d(gelu_new_(_conv1d(x, block.mlp.c_fc)), block.mlp.c_proj)
    hidden = F.layer_norm(hidden, (width,), core.ln_f.weight, core.ln_f.bias, eps)
    return F.linear(hidden[:, -keep:, :], model.lm_head.weight)


# ---------------------------------------------------------------------------------------- transformers' GPT-2
def supports(model) -> bool:
    """Whether ``step`` computes ``model``'s forward: a plain transformers GPT-2 LM head model in eval mode."""
    config = model.config
    # Other attention backends (eager, flash-attention kernels) compute attention differently.
    return (type(model).__name__ == "GPT2LMHeadModel" and not model.training
            and getattr(config, "_attn_implementation", None) == "sdpa"
            and all(getattr(config, key, value) == value for key, value in FIXED.items() if key != "model_type")
            and getattr(model.lm_head, "bias", None) is None)


def hooked(model, inner: bool = False) -> bool:
    """Whether any forward hook would run in ``model``'s forward (the step calls no module, so it would
    skip them: an intervention such as ``models/hooks.py``'s must go through the forward); ``inner``:
    only hooks on its inner modules (or on every module), which ``GPT2LM``'s forward would skip."""
    from torch.nn.modules import module as torch_module

    if any(getattr(torch_module, name, None) for name in ("_global_forward_hooks", "_global_forward_pre_hooks")):
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules() if not (inner and m is model))


@dataclass(frozen=True)
class Weights:
    """The tensors a decode step multiplies by, looked up once per batch (``bind``): reaching them
    through the module tree at every step cost more than the arithmetic of a one-row step."""

    wte: Any
    wpe: Any
    ln_f: tuple  # (weight, bias)
    head: Any
    # Per layer: ln_1 (weight, bias), c_attn (bias, weight), c_proj (bias, weight), ln_2 (weight, bias),
    # mlp.c_fc (bias, weight), mlp.c_proj (bias, weight): in the order the step uses them.
    blocks: tuple


def bind(model) -> Weights:
    """``model``'s tensors for ``step`` (a module tree with GPT-2's parameter names, as ``forward`` takes)."""
    core = model.transformer
    blocks = tuple((b.ln_1.weight, b.ln_1.bias, b.attn.c_attn.bias, b.attn.c_attn.weight, b.attn.c_proj.bias,
                    b.attn.c_proj.weight, b.ln_2.weight, b.ln_2.bias, b.mlp.c_fc.bias, b.mlp.c_fc.weight,
                    b.mlp.c_proj.bias, b.mlp.c_proj.weight) for b in core.h)
    return Weights(core.wte.weight, core.wpe.weight, (core.ln_f.weight, core.ln_f.bias), model.lm_head.weight, blocks)


def padding_bias(mask, dtype):
    """SDPA's additive mask of a decode batch, ``[rows, 1, 1, columns]``: 0 where ``mask`` (``[rows,
    columns]``, 1: attended) is 1, -inf where it is 0, the very tensor SDPA makes of a boolean mask
    (``where(mask, 0, -inf)``), made once per batch instead of in every layer of every step; None
    where no column is padding (transformers' rule: SDPA then gets no mask). A step takes its first
    columns, up to and including its new one."""
    import torch

    if bool(mask.all()):
        return None
    bias = torch.zeros(mask.shape[0], 1, 1, mask.shape[1], dtype=dtype, device=mask.device)
    return bias.masked_fill_(mask[:, None, None, :] == 0, float("-inf"))


def step(weights: Weights, config: Config, cache, ids, position, bias):
    """``[rows, vocab]`` logits of one decode step: ``forward``'s arithmetic on ``forward``'s values for one
    new column per row (the same kernels: matmuls on 2-D views of the same rows, SDPA with the
    additive mask it would make of ``forward``'s boolean one), so bit for bit its logits, without its
    per-step work (the mask rebuilt and converted in every layer, the module tree, the cache's indexing).

    Args:
        weights: ``bind(model)``.
        config: the model's numbers.
        cache: a cache of ``kv_slab.Slab`` layers (``update`` appends the column, returns views).
        ids: ``[rows]``, the token each row feeds; position: ``[rows, 1]``, its position.
        bias: ``padding_bias``'s columns up to and including the new one, or None (no padding).
    """
    import torch
    from torch.nn import functional as F

    rows = ids.shape[0]
    width, eps = config.n_embd, config.layer_norm_epsilon
    shape = (rows, 1, config.n_head, width // config.n_head)
    hidden = (F.embedding(ids[:, None], weights.wte) + F.embedding(position, weights.wpe)).view(rows, width)
    for i, (l1w, l1b, ab, aw, pb, pw, l2w, l2b, fb, fw, mb, mw) in enumerate(weights.blocks):
        x = F.layer_norm(hidden, (width,), l1w, l1b, eps)
        q, k, v = torch.addmm(ab, x, aw).split(width, dim=1)
        k, v = cache.layers[i].update(k.view(shape).transpose(1, 2), v.view(shape).transpose(1, 2))
        out = F.scaled_dot_product_attention(q.view(shape).transpose(1, 2), k, v, attn_mask=bias, dropout_p=0.0,
                                             scale=config.scaling(i), is_causal=False)
        hidden = torch.addmm(pb, out.view(rows, width), pw) + hidden
        x = F.layer_norm(hidden, (width,), l2w, l2b, eps)
        hidden = hidden + torch.addmm(mb, gelu_new_(torch.addmm(fb, x, fw)), mw)
    return F.linear(F.layer_norm(hidden, (width,), *weights.ln_f, eps), weights.head)


def matches(weights: Weights, config: Config, cache, ids, position, bias, forward_) -> tuple[bool, object]:
    """Runs ``step`` and the model's own ``forward_(ids, position)`` on the same cache state;
    returns (whether their logits are equal bit for bit, the forward's logits). Each appends the
    same column to every cache layer: the step's is taken back before the forward writes its own."""
    import torch

    lengths = [layer.length for layer in cache.layers]
    mine = step(weights, config, cache, ids, position, bias)
    for layer, length in zip(cache.layers, lengths):
        layer.rewind(length)
    theirs = forward_(ids, position)
    return torch.equal(mine, theirs), theirs


@functools.cache
def module_class():
    """``GPT2LM`` (made on first use, so importing this module needs no torch)."""
    import torch

    class GPT2LM(torch.nn.Module):
        """GPT-2 with an LM head, its parameters under transformers' names, its forward ``forward``.

        A ``torch.nn.Module`` so that what works on a module works here (``parameters``, forward hooks on
        the whole model); the inner modules only hold parameters: hooks on them do not run.
        """

        def __init__(self, config: Config, tensors: dict):
            super().__init__()
            self.config = config

            def holder(prefix: str) -> torch.nn.Module:
                module = torch.nn.Module()
                for name in ("weight", "bias"):
                    if f"{prefix}.{name}" in tensors:
                        # requires_grad as in transformers' model: the CPU's matmul takes another path
                        # (other rounding) for a weight that does not require grad, even under inference_mode.
                        setattr(module, name, torch.nn.Parameter(tensors[f"{prefix}.{name}"], requires_grad=True))
                return module

            core = self.transformer = torch.nn.Module()
            for part in ("wte", "wpe", "ln_f"):
                setattr(core, part, holder(f"transformer.{part}"))
            core.h = torch.nn.ModuleList()
            for i in range(config.n_layer):
                block = torch.nn.Module()
                for part in ("ln_1", "ln_2"):
                    setattr(block, part, holder(f"transformer.h.{i}.{part}"))
                block.attn, block.mlp = torch.nn.Module(), torch.nn.Module()
                block.attn.c_attn, block.attn.c_proj = holder(f"transformer.h.{i}.attn.c_attn"), holder(f"transformer.h.{i}.attn.c_proj")
                block.mlp.c_fc, block.mlp.c_proj = holder(f"transformer.h.{i}.mlp.c_fc"), holder(f"transformer.h.{i}.mlp.c_proj")
                core.h.append(block)
            self.lm_head = torch.nn.Module()
            self.lm_head.weight = core.wte.weight if config.tie_word_embeddings else holder("lm_head").weight

        def forward(self, input_ids, attention_mask=None, position_ids=None, cache=None, use_cache=None,
                    logits_to_keep: int = 0) -> Output:
            return Output(forward(self, self.config, input_ids, attention_mask, position_ids, cache, logits_to_keep))

    return GPT2LM
