"""The ``hf:`` adapter's key/value cache: a slab per layer, preallocated for a batch's whole token
budget, so that a decode step writes one column instead of concatenating the cache (``Slab``).

It serves both ways ``hf:`` runs a model: alone, as the native GPT-2's cache (``SlabCache``), and
mixed into transformers' ``DynamicLayer`` (``transformers_layer``), whose mask code reads it as an
ordinary growing cache. ``kv_cache`` names the keyword a model's forward takes it under.
"""

from __future__ import annotations

import functools
from typing import Callable


@functools.lru_cache(maxsize=1)
def kv_cache(model, cache) -> dict:
    """``{name: cache}``: the keyword ``model``'s forward takes its key/value cache under.

    transformers 5.x renamed ``past_key_values`` to ``cache`` and warns (a FutureWarning) on every
    call that uses the old name; before the rename only the old name exists. Passing the name the
    model declares silences the warning at its source and keeps both versions working.
    """
    return {_kv_name(type(model)): cache}


@functools.lru_cache(maxsize=None)
def _kv_name(cls) -> str:
    import inspect

    try:
        params = inspect.signature(cls.forward).parameters
    except (TypeError, ValueError):  # a forward without a readable signature: the name every version knows
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


_ALL = slice(None)


class Slab:
    """One layer's key/value cache: appending writes columns of a slab sized for the batch's whole
    budget; reads are views. Alone for the GPT-2 read without transformers (``SlabCache``); under
    transformers it is mixed into its ``DynamicLayer`` (``transformers_layer``), which its mask code reads as
    an ordinary growing cache: only the storage differs."""

    def __init__(self, capacity: int, rows: int | None = None, window: slice = slice(None)):
        super().__init__()
        self.capacity = capacity
        self.rows = rows  # the slab's rows, where the first update brings only some of them
        self.window = window  # the rows updates write and read (a prefill chunk's; all otherwise)
        self.length = 0
        self.is_initialized = False

    def lazy_initialization(self, key_states, value_states) -> None:
        self.dtype, self.device = key_states.dtype, key_states.device
        rows = self.rows or key_states.shape[0]
        self.k_buf = key_states.new_empty(rows, key_states.shape[1], self.capacity, key_states.shape[3])
        self.v_buf = value_states.new_empty(rows, value_states.shape[1], self.capacity, value_states.shape[3])
        self.is_initialized = True

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise RuntimeError(f"KV cache of {self.capacity} columns overflowed ({end})")
        # narrow() where every row is written: a decode step's four writes and views per layer cost
        # more through Python's indexing than the copies themselves.
        k_rows, v_rows = ((self.k_buf, self.v_buf) if self.window == _ALL
                          else (self.k_buf[self.window], self.v_buf[self.window]))
        k_rows.narrow(2, self.length, end - self.length).copy_(key_states)
        v_rows.narrow(2, self.length, end - self.length).copy_(value_states)
        self.length = end
        self.keys, self.values = k_rows.narrow(2, 0, end), v_rows.narrow(2, 0, end)
        return self.keys, self.values

    def chunk(self, window: slice, length: int) -> None:
        """Updates from now on write (and read) the rows of ``window`` from column ``length`` on."""
        self.window = window
        self.rewind(length)

    def get_seq_length(self) -> int:
        return self.length

    def rewind(self, length: int) -> None:
        """Forgets the columns from ``length`` on (``gpt2.matches`` runs one step twice)."""
        self.length = length
        self.keys, self.values = self.k_buf[self.window, :, :length], self.v_buf[self.window, :, :length]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.length + query_length, 0

    def _rebuild(self, take) -> None:
        # Copies only the filled columns; the new slab keeps the full capacity for later steps.
        for name in ("k_buf", "v_buf"):
            old = getattr(self, name)
            rows = take(old[:, :, :self.length])
            new = old.new_empty(rows.shape[0], old.shape[1], self.capacity, old.shape[3])
            new[:, :, :self.length] = rows
            setattr(self, name, new)
        self.keys, self.values = self.k_buf[:, :, :self.length], self.v_buf[:, :, :self.length]

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.is_initialized:
            self._rebuild(lambda t: t.repeat_interleave(repeats, dim=0))

    def batch_select_indices(self, indices) -> None:
        """Keeps rows ``indices`` (row ``j`` of the result is row ``indices[j]``), in place: only the rows
        whose place changes are copied, so an order that leaves the kept rows where they are and moves
        a few from the end into the gaps (``HFModel._decode``'s) copies only those few.

        Why in place: a new slab per compaction is a fresh allocation the size of the whole budget,
        page faults included (decoding 2,000 gpt2-mult answers: compaction 0.16 s of 0.73 s that way,
        where no freed block was at hand)."""
        self.move(len(indices), *moves(indices))

    def move(self, kept: int, moved, source) -> None:
        """Keeps the first ``kept`` rows, row ``moved[i]`` becoming row ``source[i]`` (``moves``)."""
        if self.is_initialized:
            for name in ("k_buf", "v_buf"):
                buf = getattr(self, name)
                if len(moved):  # the source rows are gathered (a copy) before any is written
                    filled = buf.narrow(2, 0, self.length)
                    filled.index_copy_(0, moved, filled.index_select(0, source))
                setattr(self, name, buf[:kept])
            self.keys, self.values = self.k_buf[:, :, :self.length], self.v_buf[:, :, :self.length]


def moves(indices) -> tuple:
    """(the rows a selection of ``indices`` writes, the rows each is copied from): those whose place
    changes. Reckoned once per compaction for every layer (on a GPU, ``nonzero`` waits for the device)."""
    import torch

    moved = (indices != torch.arange(len(indices), device=indices.device)).nonzero().flatten()
    return moved, indices[moved]


class SlabCache:
    """The layers' ``Slab``s, made as the forward first writes each (as transformers' ``Cache`` does):
    the cache of a GPT-2 read without transformers (``gpt2.forward``)."""

    def __init__(self, make: Callable[[], Slab]):
        self.make = make
        self.layers: list[Slab] = []

    def update(self, key_states, value_states, layer_idx: int):
        if layer_idx == len(self.layers):
            self.layers.append(self.make())
        return self.layers[layer_idx].update(key_states, value_states)

    def get_seq_length(self) -> int:
        return self.layers[0].length if self.layers else 0

    def batch_repeat_interleave(self, repeats: int) -> None:
        for layer in self.layers:
            layer.batch_repeat_interleave(repeats)

    def batch_select_indices(self, indices) -> None:
        change = moves(indices)
        for layer in self.layers:
            layer.move(len(indices), *change)


@functools.cache
def transformers_layer():
    """``Slab`` as a transformers cache layer (made on first use: importing this module needs no transformers)."""
    from transformers.cache_utils import DynamicLayer

    return type("SlabLayer", (Slab, DynamicLayer), {"__doc__": Slab.__doc__})
