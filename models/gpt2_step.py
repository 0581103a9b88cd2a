"""One GPT-2 decode step (one new token per row) without transformers' module stack.

Why: on a tiny GPT-2 (the reference checkpoints: 4 layers of 128) a decode step through
``GPT2LMHeadModel.forward`` costs about 1.9 ms on a CPU core whatever the batch, most of it Python
(module calls, wrappers, output records), against about 0.3 ms of arithmetic for one row. Decoding
a long trace runs its last rows alone for hundreds of steps, so that floor is most of the decode
time. This step calls the same torch functions, in the same order, on the same weights, with the
attention mask built by transformers' own ``create_causal_mask`` and attention computed by the
model's own attention function: the logits are the very same floats. ``HFModel`` still checks that
on the first step of every batch (``matches``) and uses the model's forward from then on if they
ever differ, so a transformers version that changes GPT-2's arithmetic costs speed, never answers.

Used only where ``supports(model)``: a ``GPT2LMHeadModel`` in eval mode, without cross-attention or
the upcast/reorder variant, with a cache of ``SlabLayer``s (``models/hf.py``), and while no forward
hook is registered anywhere in the model (``hooked``).
"""

from __future__ import annotations


def supports(model) -> bool:
    """Whether ``step`` computes ``model``'s forward: a plain GPT-2 LM head model in eval mode."""
    config = model.config
    # Other attention backends (flash-attention kernels) take arguments from the forward this step does not pass.
    return (type(model).__name__ == "GPT2LMHeadModel" and not model.training
            and getattr(config, "_attn_implementation", None) in ("sdpa", "eager")
            and not getattr(config, "add_cross_attention", False)
            and not getattr(config, "reorder_and_upcast_attn", False)
            and getattr(model.lm_head, "bias", None) is None)


def hooked(model) -> bool:
    """Whether any forward hook would run in ``model``'s forward (the step calls no module, so it would
    skip them: an intervention such as ``models/hooks.py``'s must go through the forward)."""
    from torch.nn.modules import module as torch_module

    if any(getattr(torch_module, name, None) for name in ("_global_forward_hooks", "_global_forward_pre_hooks")):
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def step(model, cache, ids, position, mask):
    """Logits of one decode step, as ``model(input_ids=ids[:, None], attention_mask=mask,
    position_ids=position, cache=cache).logits[:, -1]`` would give them.

    Args:
        model: a GPT-2 for which ``supports`` holds.
        cache: its key/value cache; each layer's ``update(k, v)`` appends one column and returns
            the layer's keys and values so far.
        ids: ``[rows]`` int64, the token each row feeds.
        position: ``[rows, 1]`` int64, each row's position.
        mask: ``[rows, columns]`` int64, 1 where a cache column (the new one included) is attended.

    Returns:
        ``[rows, vocab]`` float logits.
    """
    import torch
    from torch.nn import functional as F
    from transformers.masking_utils import create_causal_mask
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
    from transformers.models.gpt2.modeling_gpt2 import eager_attention_forward

    core = model.transformer
    config = model.config
    hidden = F.embedding(ids[:, None], core.wte.weight) + F.embedding(position, core.wpe.weight)
    attend = create_causal_mask(config=config, inputs_embeds=hidden, attention_mask=mask, cache=cache,
                                position_ids=position)
    rows, width = hidden.shape[0], hidden.shape[-1]
    attention = ALL_ATTENTION_FUNCTIONS.get_interface(config._attn_implementation, eager_attention_forward)
    for block, layer in zip(core.h, cache.layers):
        attn = block.attn
        residual = hidden
        x = F.layer_norm(hidden, (width,), block.ln_1.weight, block.ln_1.bias, block.ln_1.eps)
        qkv = torch.addmm(attn.c_attn.bias, x.view(-1, width), attn.c_attn.weight).view(rows, 1, -1)
        q, k, v = qkv.split(attn.split_size, dim=2)
        shape = (rows, 1, -1, attn.head_dim)
        keys, values = layer.update(k.view(shape).transpose(1, 2), v.view(shape).transpose(1, 2))
        out, _ = attention(attn, q.view(shape).transpose(1, 2), keys, values, attend, dropout=0.0,
                           scaling=attn.scaling)
        out = out.reshape(rows, 1, -1).contiguous()
        out = torch.addmm(attn.c_proj.bias, out.view(-1, out.size(-1)), attn.c_proj.weight).view(rows, 1, width)
        hidden = out + residual
        residual = hidden
        x = F.layer_norm(hidden, (width,), block.ln_2.weight, block.ln_2.bias, block.ln_2.eps)
        mlp = block.mlp
        x = torch.addmm(mlp.c_fc.bias, x.view(-1, width), mlp.c_fc.weight)
        x = mlp.act(x)
        x = torch.addmm(mlp.c_proj.bias, x, mlp.c_proj.weight).view(rows, 1, width)
        hidden = residual + x
    ln = core.ln_f
    hidden = F.layer_norm(hidden, (width,), ln.weight, ln.bias, ln.eps)
    return F.linear(hidden, model.lm_head.weight)[:, -1]


def matches(model, cache, ids, position, mask, forward) -> tuple[bool, object]:
    """Runs ``step`` and the model's own ``forward(ids, position, mask)`` on the same cache state;
    returns (whether their logits are equal bit for bit, the forward's logits). Each appends the
    same column to every cache layer: the step's is taken back before the forward writes its own."""
    import torch

    lengths = [layer.length for layer in cache.layers]
    mine = step(model, cache, ids, position, mask)
    for layer, length in zip(cache.layers, lengths):
        layer.rewind(length)
    theirs = forward(ids, position, mask)
    return torch.equal(mine, theirs), theirs
