"""A plain GPT-2 checkpoint directory read without transformers: which directories are read here
(``unsupported`` says why not), the tokenizer (``Tokenizer``), the weights (``load``) and the
end-of-text ids (``eos_ids``), each as transformers reads them.

Source: transformers 5.x ``GPT2Config``, ``TokenizersBackend`` (``tokenization_utils_tokenizers.py``),
``PreTrainedModel.from_pretrained`` and ``GenerationConfig``. Anything a directory holds that
transformers would read otherwise than here sends the directory to transformers (``hf:``'s
``impl=auto``), so the answers never depend on which reads it: ``tests/test_gpt2.py`` checks each
reason and the tokenizer against transformers'.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from oraclebench.models.gpt2 import FIXED, Config, module_class

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


def _parsed(path: Path):
    """The JSON value in ``path``, or None where the file is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_json(path: Path) -> dict | None:
    data = _parsed(path)
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
    generation = _parsed(path / "generation_config.json")  # unreadable: config.json's, as eos_ids reads it
    if generation is not None and not isinstance(generation, dict):
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
    if settings.get("clean_up_tokenization_spaces", False) is not False:  # absent: transformers 5's default, off
        return "tokenizer_config.json sets clean_up_tokenization_spaces"
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
    return Tokenizer(path), module_class()(config, tensors).eval()
