"""A key/value cache for `model.generate` that appends in place instead of re-concatenating.

transformers' `DynamicCache` grows each layer with `torch.cat` at every decoding step, so step t copies
the whole cache of t tokens into a new tensor: over an answer of T tokens that is O(T^2) copying, and
on CPU the fresh allocations (past glibc's mmap threshold) fault in new zeroed pages each time. At
IFEval lengths (1,280 new tokens) that churn is a large share of a small model's decode time.

`append_only_cache(config, capacity)` returns a `DynamicCache` whose plain layers write each step into
a buffer allocated once (sized `capacity` tokens when the caller knows the final length, else grown
geometrically) and hand attention a view of the filled part. Attention sees the same keys and values
(a strided view instead of a fresh tensor); tests/test_kv_cache.py checks that greedy, sampled and
beam-search generations come out token for token as with `DynamicCache`.
"""

from typing import Any

from transformers.cache_utils import DynamicCache, DynamicLayer

MIN_CAPACITY = 256  # tokens; the first buffer when no capacity is given
GROWTH = 1.5  # buffer growth factor when a sequence outgrows its capacity


class AppendOnlyLayer(DynamicLayer):
    """A `DynamicLayer` whose `keys`/`values` are views of a preallocated buffer.

    Anything that replaces `keys` from outside (beam reordering, cropping, batch selection) is
    noticed at the next `update`, which then copies the new tensors into the buffer (a new one when
    the batch shape changed or the buffer is too small).
    """

    def __init__(self, capacity: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.capacity = capacity
        self._key_buffer: Any = None
        self._value_buffer: Any = None
        self._issued: Any = None  # the view handed out last; anything else in `keys` is foreign

    def update(
        self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any
    ) -> tuple[Any, Any]:
        """Write `key_states`/`value_states` ([batch, heads, new, dim]) after the cached tokens and
        return views of all cached keys and values (as `DynamicLayer.update` returns tensors)."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length = self.get_seq_length()
        end = length + key_states.shape[-2]
        moved = self.keys is not self._issued  # replaced from outside since the last update
        if not self._fits(key_states, end):
            self._allocate(key_states, value_states, end)
            moved = True
        if moved and length and not self._is_buffer_prefix(self.keys):
            self._key_buffer[..., :length, :] = self.keys
            self._value_buffer[..., :length, :] = self.values
        self._key_buffer[..., length:end, :] = key_states
        self._value_buffer[..., length:end, :] = value_states
        self.keys = self._key_buffer[..., :end, :]
        self.values = self._value_buffer[..., :end, :]
        self._issued = self.keys
        return self.keys, self.values

    def _fits(self, key_states: Any, end: int) -> bool:
        """The buffer exists, has this batch's shape and room for `end` tokens."""
        buffer = self._key_buffer
        return (
            buffer is not None
            and buffer.shape[:-2] == key_states.shape[:-2]
            and buffer.shape[-2] >= end
        )

    def _is_buffer_prefix(self, keys: Any) -> bool:
        """`keys` is a leading slice of the buffer (e.g. after `crop`): nothing to copy back."""
        return keys._base is self._key_buffer and keys.data_ptr() == self._key_buffer.data_ptr()

    def _allocate(self, key_states: Any, value_states: Any, end: int) -> None:
        """Fresh buffers for at least `end` tokens: the caller's capacity, else a geometric step up
        from an outgrown buffer of the same batch, else `MIN_CAPACITY`."""
        size = max(end, self.capacity or MIN_CAPACITY)
        old = self._key_buffer
        if old is not None and old.shape[:-2] == key_states.shape[:-2]:
            size = max(size, int(old.shape[-2] * GROWTH))
        self._key_buffer = key_states.new_empty(
            (*key_states.shape[:-2], size, key_states.shape[-1])
        )
        self._value_buffer = value_states.new_empty(
            (*value_states.shape[:-2], size, value_states.shape[-1])
        )

    def reset(self) -> None:
        """Forget the cached tokens and the buffers."""
        self._key_buffer = self._value_buffer = self._issued = None
        super().reset()


def append_only_cache(config: Any, capacity: int | None = None) -> DynamicCache:
    """A `DynamicCache` for `config`'s model whose plain (full-attention) layers append in place.

    `capacity`: the final sequence length (prompt + new tokens) when known, so each layer allocates
    once. Sliding-window and other special layers keep transformers' own implementation.
    """
    cache = DynamicCache(config=config)
    cache.layers = [
        AppendOnlyLayer(capacity) if type(layer) is DynamicLayer else layer
        for layer in cache.layers
    ]
    return cache
