"""Tiny language models built here from config: a task-token tokenizer and GPT-2 / Llama shells.

No hub downloads: the tokenizer's vocabulary is read off the task's own text. Text splits into
single digits, whole letter runs (words, ``A``/``B`` tokens), single spaces, newlines and single
punctuation marks, and decodes by plain concatenation, so ``decode(encode(text)) == text`` exactly
for any text made of known pieces. Digits stay single tokens so that numbers are read digit by digit.

>>> tok = build_tokenizer(["0,1,1,1,0\\n1,0,0,0\\n3 - 1\\n"])
>>> tok.decode(tok("0,1,1,1,0")["input_ids"])
'0,1,1,1,0'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

PIECES = r"\d|[A-Za-z_]+|\n|[^\S\n]|[^\w\s]"
SPECIALS = {"pad": "<pad>", "eos": "<eos>", "unk": "<unk>"}
# transformers' stop-string matcher encodes this probe text and fails ("substring not found") when a
# tokenizer cannot spell it, which broke `generate(stop_strings=...)` and `transformers serve`.
STOP_STRING_PROBE = "abcdef"


def pattern(phrases: Iterable[str] = (), escape=re.escape) -> str:
    """The split pattern: each phrase whole (longest first), then the pieces."""
    return "|".join([*(escape(p) for p in sorted(filter(None, phrases), key=len, reverse=True)), PIECES])


def _oniguruma_escape(text: str) -> str:
    # The tokenizers library's regex engine (Oniguruma) reads \x{..}; re.escape's "\<newline>" is Python's.
    return "".join(c if c.isalnum() else "\\x{%x}" % ord(c) for c in text)


def pieces(text: str, phrases: Iterable[str] = ()) -> list[str]:
    """How the tokenizer splits ``text`` (one entry per token)."""
    return re.findall(pattern(phrases), text)


def build_tokenizer(texts: Iterable[str], extra: Iterable[str] = (), phrases: Iterable[str] = ()):
    """A ``PreTrainedTokenizerFast`` whose vocabulary is every piece of ``texts`` (plus ``extra``).

    ``phrases`` are texts read as one token each where they start at a piece boundary (a task's
    fixed instruction at the start of every prompt: a constant a small model need not attend to
    token by token). Padding is on the left
    (decoder-only generation); ``<eos>`` ends every training example.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    phrases = [p for p in phrases if p]
    vocab = {tok: i for i, tok in enumerate(SPECIALS.values())}
    for text in [*texts, *extra, *phrases, STOP_STRING_PROBE]:
        for piece in pieces(text, phrases):
            vocab.setdefault(piece, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIALS["unk"]))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(pattern(phrases, _oniguruma_escape)), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=SPECIALS["pad"], eos_token=SPECIALS["eos"], unk_token=SPECIALS["unk"],
        bos_token=SPECIALS["eos"], padding_side="left", clean_up_tokenization_spaces=False,
    )


def tiny_gpt2(tokenizer, n_embd: int = 128, n_layer: int = 4, n_head: int = 4, n_positions: int = 512, seed: int = 0):
    """A GPT-2 from config (the-experiment's default shape: 128-dim, 4 layers, 4 heads)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                        n_positions=n_positions, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return GPT2LMHeadModel(config)


def tiny_llama(tokenizer, hidden_size: int = 64, layers: int = 2, heads: int = 4, intermediate: int = 128,
               max_positions: int = 1024, seed: int = 0):
    """A Llama from config, for the transplant adapter's tests and recipe."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=heads, intermediate_size=intermediate,
                         max_position_embeddings=max_positions, bos_token_id=tokenizer.eos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return LlamaForCausalLM(config)


def save(model, tokenizer, out: Path | str) -> Path:
    """Save in the HuggingFace layout (loadable by ``hf:PATH`` and ``transformers serve PATH``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # "Writing model shards" is noise in a script's or a test's output
    try:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return out
