"""GPT-2's forward as plain torch calls: the whole model for a plain GPT-2 checkpoint, without
importing transformers, and the lean decode step for a GPT-2 that transformers loaded.

Why: a tiny reference GPT-2 (4 layers of 128) answers 2,000 multiplication prompts in about 2.5 s
of arithmetic, but importing transformers' model code (``GPT2LMHeadModel`` pulls in
``modeling_utils``, ``torch._dynamo``, sympy, scipy) costs 3 s of a 10 s benchmark run, and a
decode step through its module stack costs about 1.9 ms of Python against 0.3 ms of arithmetic
for one row.

Source: the arithmetic is transformers' ``GPT2LMHeadModel.forward`` with SDPA attention
(``models/gpt2/modeling_gpt2.py`` and ``integrations/sdpa_attention.py``, transformers 5.x),
call for call, on tensors named as its state dict names them; the attention mask follows its
rule (``masking_utils.sdpa_mask`` with ``_ignore_causal_mask_sdpa``: no mask, and SDPA's
``is_causal``, where no column is padding). The same calls on the same tensors give the same
floats: ``tests/test_gpt2.py`` checks logits and answers bit for bit against transformers over
shapes, padding, shared prefixes, prefill chunks and decode steps, and ``HFModel`` checks the
lean step against the forward at its first use on every transformers-loaded model.

``unsupported(path)`` says why a directory is not a plain GPT-2 this module reads (anything else
loads through transformers): a config key, weight name, or tokenizer setting outside what is
mirrored here sends it there.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

WEIGHTS = "model.safetensors"
# GPT2Config's own keys and PretrainedConfig's generic ones whose values cannot change the forward
# (training-only dropouts, summary heads, labels, output switches); a key outside this set, or one of
# FIXED at another value, sends the checkpoint to transformers.
CONFIG_KEYS = frozenset({
    "_name_or_path", "activation_function", "add_cross_attention", "architectures", "attn_pdrop",
    "bos_token_id", "chunk_size_feed_forward", "dtype", "torch_dtype", "embd_pdrop", "eos_token_id",
    "id2label", "initializer_range", "is_encoder_decoder", "label2id", "layer_norm_epsilon", "model_type",
    "n_embd", "n_head", "n_inner", "n_layer", "n_positions", "n_ctx", "output_attentions",
    "output_hidden_states", "pad_token_id", "problem_type", "reorder_and_upcast_attn", "resid_pdrop",
    "return_dict", "scale_attn_by_inverse_layer_idx", "scale_attn_weights", "summary_activation",
    "summary_first_dropout", "summary_proj_to_labels", "summary_type", "summary_use_proj",
    "tie_word_embeddings", "transformers_version", "use_cache", "vocab_size", "task_specific_params",
})
FIXED = {"model_type": "gpt2", "activation_function": "gelu_new", "add_cross_attention": False,
         "reorder_and_upcast_attn": False, "is_encoder_decoder": False, "chunk_size_feed_forward": 0,
         "return_dict": True}
REQUIRED = ("model_type",)  # transformers cannot tell the architecture without it
# The type each number of the forward must have where config.json gives it (GPT2Config's strict fields:
# transformers refuses a null, or an int epsilon, at load).
TYPES = {"vocab_size": int, "n_embd": int, "n_head": int, "n_layer": int, "n_positions": int, "n_inner": int,
         "layer_norm_epsilon": float, "scale_attn_weights": bool, "scale_attn_by_inverse_layer_idx": bool,
         "tie_word_embeddings": bool}
# Files beside the weights through which transformers would read something else than what is read here.
FOREIGN_FILES = {"adapter_config.json": "a PEFT adapter", "added_tokens.json": "added tokens of the legacy layout",
                 "special_tokens_map.json": "special tokens of the legacy layout"}
# tokenizer_config.json keys whose effect ``Tokenizer`` mirrors (see its docstring).
TOKENIZER_KEYS = frozenset({
    "backend", "bos_token", "eos_token", "pad_token", "unk_token", "clean_up_tokenization_spaces",
    "model_max_length", "padding_side", "truncation_side", "tokenizer_class", "added_tokens_decoder",
})
TOKENIZER_CLASSES = ("TokenizersBackend", "PreTrainedTokenizerFast")
SPECIAL_KEYS = ("bos_token", "eos_token", "pad_token", "unk_token")
IGNORED_WEIGHTS = (".attn.bias", ".attn.masked_bias")  # old causal-mask buffers transformers skips too


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


def step(model, config: Config, cache, ids, position, mask):
    """``[rows, vocab]`` logits of one decode step (``ids``: ``[rows]``, the token each row feeds;
    ``position``: ``[rows, 1]``; ``mask``: ``[rows, columns]``, the new column included)."""
    return forward(model, config, ids[:, None], mask, position, cache, keep=1)[:, -1]


def matches(model, config: Config, cache, ids, position, mask, forward_) -> tuple[bool, object]:
    """Runs ``step`` and the model's own ``forward_(ids, position, mask)`` on the same cache state;
    returns (whether their logits are equal bit for bit, the forward's logits). Each appends the
    same column to every cache layer: the step's is taken back before the forward writes its own."""
    import torch

    lengths = [layer.length for layer in cache.layers]
    mine = step(model, config, cache, ids, position, mask)
    for layer, length in zip(cache.layers, lengths):
        layer.rewind(length)
    theirs = forward_(ids, position, mask)
    return torch.equal(mine, theirs), theirs


# ---------------------------------------------------------------------------------------- without transformers
def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _shapes(config: Config) -> dict[str, tuple[int, ...]]:
    """Each weight's name and shape, as GPT2LMHeadModel's state dict has them (Conv1D weights ``[in, out]``)."""
    e, inner = config.n_embd, config.n_inner or 4 * config.n_embd
    shapes = {"transformer.wte.weight": (config.vocab_size, e), "transformer.wpe.weight": (config.n_positions, e),
              "transformer.ln_f.weight": (e,), "transformer.ln_f.bias": (e,)}
    parts = {"ln_1": (e,), "ln_2": (e,), "attn.c_attn": (e, 3 * e), "attn.c_proj": (e, e),
             "mlp.c_fc": (e, inner), "mlp.c_proj": (inner, e)}
    for i in range(config.n_layer):
        for part, shape in parts.items():
            shapes[f"transformer.h.{i}.{part}.weight"] = shape
            shapes[f"transformer.h.{i}.{part}.bias"] = shape[-1:]
    if not config.tie_word_embeddings:
        shapes["lm_head.weight"] = (config.vocab_size, e)
    return shapes


def unsupported(path: Path) -> str | None:
    """Why the model directory ``path`` does not load here (None: it does): the reason names the file
    and the setting that sends it to transformers."""
    config = _read_json(path / "config.json")
    if config is None:
        return "config.json is not a JSON object"
    for name, what in FOREIGN_FILES.items():
        if (path / name).exists():
            return f"{name} is present ({what})"
    if (path / "generation_config.json").is_file() and _read_json(path / "generation_config.json") is None:
        try:
            json.loads((path / "generation_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # unreadable: transformers falls back to config.json, as eos_ids does
        else:
            return "generation_config.json is not a JSON object"
    return _config_unsupported(config) or _weights_unsupported(path, Config.read(config)) or _tokenizer_unsupported(path)


def _config_unsupported(config: dict) -> str | None:
    for key, value in FIXED.items():
        if config.get(key, None if key in REQUIRED else value) != value:
            return f"config.json has {key}={config.get(key)!r}"
    extra = sorted(set(config) - CONFIG_KEYS)
    if extra:
        return f"config.json sets {', '.join(extra)}"
    if config.get("architectures") not in (None, ["GPT2LMHeadModel"]):
        return f"config.json's architectures is {config['architectures']}"
    for key, kind in TYPES.items():
        value = config.get(key)
        if key == "n_inner" and value is None:
            continue
        if key not in config and key in ("vocab_size", "n_embd", "n_head", "n_layer", "n_positions"):
            return f"config.json has no {key}"
        if key in config and (type(value) is not kind or (kind is int and value <= 0)):
            return f"config.json's {key} is {value!r}, not a {'positive ' if kind is int else ''}{kind.__name__}"
    if config["n_embd"] % config["n_head"]:
        return "config.json's n_embd is not divisible by n_head"
    return None


def _weights_unsupported(path: Path, config: Config) -> str | None:
    if not (path / WEIGHTS).is_file():
        return f"no single {WEIGHTS}"
    import torch
    from safetensors import safe_open

    try:
        with safe_open(str(path / WEIGHTS), "pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys() if not k.endswith(IGNORED_WEIGHTS)}
            # transformers ties a head equal to wte, and keeps one that differs untied (with a warning)
            tied_apart = (config.tie_word_embeddings and "lm_head.weight" in shapes
                          and not torch.equal(f.get_tensor("lm_head.weight"), f.get_tensor("transformer.wte.weight")))
    except Exception as exc:  # noqa: BLE001 - any unreadable file goes to transformers, which reports it
        return f"{WEIGHTS} is unreadable here ({type(exc).__name__})"
    if tied_apart:
        return f"config.json ties lm_head to wte, but {WEIGHTS} holds another lm_head.weight"
    expected = _shapes(config)
    if config.tie_word_embeddings:
        shapes.pop("lm_head.weight", None)  # equal to wte: checked above
    odd = sorted(set(shapes) ^ set(expected)) or sorted(k for k in shapes if shapes[k] != expected[k])
    if odd:
        return f"{WEIGHTS} does not hold GPT-2's weights by name and shape ({len(odd)} differ, e.g. {odd[0]})"
    return None


def _token_text(value) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


def _flags(token: dict) -> dict:
    """An added token's flags as ``tokenizers.AddedToken`` fills them in (``normalized``: not ``special``)."""
    special = bool(token.get("special", False))
    return {"special": special, "single_word": bool(token.get("single_word", False)),
            "lstrip": bool(token.get("lstrip", False)), "rstrip": bool(token.get("rstrip", False)),
            "normalized": bool(token.get("normalized", not special))}


def _tokenizer_unsupported(path: Path) -> str | None:
    if not (path / "tokenizer.json").is_file():
        return "no tokenizer.json"
    settings = _read_json(path / "tokenizer_config.json")
    if settings is None:
        return "no readable tokenizer_config.json"
    if (path / "special_tokens_map.json").exists():
        return "special_tokens_map.json is present"
    extra = sorted(set(settings) - TOKENIZER_KEYS)
    if extra:
        return f"tokenizer_config.json sets {', '.join(extra)}"
    if settings.get("tokenizer_class") not in TOKENIZER_CLASSES:
        return f"tokenizer_class is {settings.get('tokenizer_class')!r}"
    if settings.get("backend", "tokenizers") != "tokenizers":
        return f"tokenizer_config.json's backend is {settings['backend']!r}"
    if settings.get("clean_up_tokenization_spaces") is not False:
        return "tokenizer_config.json does not set clean_up_tokenization_spaces=false"
    spec = _read_json(path / "tokenizer.json")
    if spec is None:
        return "tokenizer.json is not a JSON object"
    added = {t.get("content"): t for t in spec.get("added_tokens") or [] if isinstance(t, dict)}
    for key in SPECIAL_KEYS:
        value = settings.get(key)
        if isinstance(value, dict) and value.get("__type") != "AddedToken":  # transformers refuses it
            return f"tokenizer_config.json's {key} is a mapping without __type AddedToken"
        text = _token_text(value)
        if text is not None and (text not in added or not added[text].get("special")):
            return f"{key} {text!r} is not a special token of tokenizer.json"
    for token_id, token in (settings.get("added_tokens_decoder") or {}).items():
        # transformers re-adds each entry with these flags: any other flag than tokenizer.json's changes encoding
        same = (isinstance(token, dict) and token.get("content") in added and str(added[token["content"]].get("id")) == token_id
                and _flags(token) == _flags(added[token["content"]]))
        if not same:
            return f"added token {token_id} differs between tokenizer_config.json and tokenizer.json"
    return None


class Tokenizer:
    """A ``tokenizer.json`` read by the ``tokenizers`` library, as transformers' ``TokenizersBackend``
    reads it for the settings ``unsupported`` lets through: encoding adds the post-processor's special
    tokens (``add_special_tokens``) with padding and truncation off; decoding skips special tokens on
    request and cleans up no spaces. The subset of transformers' tokenizer API the adapter calls:
    ``tok(texts)["input_ids"]``, ``decode``, ``batch_decode``, ``eos_token_id``, ``pad_token_id``.
    """

    def __init__(self, path: Path):
        from tokenizers import Tokenizer as Backend

        self.backend = Backend.from_file(str(path / "tokenizer.json"))
        self.backend.no_padding()
        self.backend.no_truncation()
        settings = _read_json(path / "tokenizer_config.json") or {}
        self.eos_token_id = self._id(settings.get("eos_token"))
        self.pad_token_id = self._id(settings.get("pad_token"))

    def _id(self, token) -> int | None:
        text = _token_text(token)
        return None if text is None else self.backend.token_to_id(text)

    def __call__(self, text: str | Sequence[str], add_special_tokens: bool = True) -> dict:
        if isinstance(text, str):
            return {"input_ids": self.backend.encode(text, add_special_tokens=add_special_tokens).ids}
        encoded = self.backend.encode_batch(list(text), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encoded]}

    def __len__(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def batch_decode(self, rows: Sequence[Sequence[int]], skip_special_tokens: bool = False) -> list[str]:
        return self.backend.decode_batch([list(r) for r in rows], skip_special_tokens=skip_special_tokens)


def eos_ids(path: Path):
    """The ``eos_token_id`` value generation stops at (an id, a list, or None): ``generation_config.json``'s
    where it is readable (even without one), else ``config.json``'s, as transformers reads them."""
    generation = _read_json(path / "generation_config.json")
    data = generation if generation is not None else _read_json(path / "config.json") or {}
    return data.get("eos_token_id")


@functools.cache
def _module_class():
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


def load(path: Path, device: str, dtype: str):
    """(``Tokenizer``, ``GPT2LM``) of the model directory ``path`` (``unsupported(path)`` must be None),
    on ``device`` in ``dtype`` (a torch dtype name; ``auto``: the stored one)."""
    import torch
    from safetensors.torch import load_file

    settings = _read_json(path / "config.json")
    config = Config.read(settings)
    tensors = {k: v for k, v in load_file(str(path / WEIGHTS), device="cpu").items() if k in _shapes(config)}
    if dtype == "auto":  # as transformers' dtype="auto": config.json's dtype, else the first weight's
        named = settings.get("dtype") or settings.get("torch_dtype")
        dtype = named if isinstance(getattr(torch, str(named), None), torch.dtype) else None
        dtype = dtype or str(next(v.dtype for v in tensors.values() if v.is_floating_point())).removeprefix("torch.")
    tensors = {k: v.to(device=device, dtype=getattr(torch, dtype)) for k, v in tensors.items()}
    return Tokenizer(path), _module_class()(config, tensors).eval()
