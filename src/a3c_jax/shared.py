"""SharedState: the one mutable object that all workers update."""
import threading
import time

import jax
import jax.numpy as jnp
import optax

from a3c_jax.record import CHECKPOINT, SKIP, UPDATE, UpdateRecord


class SharedState:
    """Parameters, optimizer state and counters shared by the worker threads.

    Workers read the params without the lock (`read`): JAX arrays are immutable, so reading
    the reference gives one whole version, perhaps a few updates old (as in the paper).
    With a `record`, each update appends who made it and the version it read (record.py).
    """

    def __init__(self, params, optimizer: optax.GradientTransformation, opt_state=None,
                 frames: int = 0, updates: int = 0, record: UpdateRecord | None = None):
        # Invariant: the lock is held whenever params, opt_state, a counter or the record changes.
        self._lock = threading.Lock()
        self._version = (updates, params)  # swapped whole, so a reader gets a matching pair
        self.record = record
        self.opt_state = optimizer.init(params) if opt_state is None else opt_state
        self.frames = frames
        self.updates = updates
        self.skipped_updates = 0  # gradients refused for being non-finite, in all
        self.nonfinite_in_a_row = 0
        self.lock_wait_seconds = 0.0  # time workers spent waiting for the lock in apply

        @jax.jit
        def apply_update(params, opt_state, grads):
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        self._apply_update = apply_update

    @property
    def params(self):
        return self._version[1]

    def read(self) -> tuple[int, object]:
        """(version, params): the newest params and the number of updates they include."""
        return self._version

    def apply(self, grads, frames: int, worker: int = 0, read_at: int = 0) -> int:
        """Applies the gradients worker `worker` computed from params version `read_at` and
        counts its frames; returns this update's number (1, 2, ...)."""
        start = time.perf_counter()
        with self._lock:
            self.lock_wait_seconds += time.perf_counter() - start
            params, self.opt_state = self._apply_update(self.params, self.opt_state, grads)
            self.frames += frames
            self.updates += 1
            self._version = (self.updates, params)
            self.nonfinite_in_a_row = 0
            if self.record is not None:
                self.record.append(UPDATE, worker, read_at)
            return self.updates

    def skip(self, frames: int, worker: int = 0, read_at: int = 0) -> int:
        """Counts frames whose gradients were not finite, without updating; returns the run of such skips."""
        with self._lock:
            self.frames += frames
            self.skipped_updates += 1
            self.nonfinite_in_a_row += 1
            if self.record is not None:
                self.record.append(SKIP, worker, read_at)
            return self.nonfinite_in_a_row

    def params_are_finite(self) -> bool:
        return all(bool(jnp.isfinite(leaf).all()) for leaf in jax.tree.leaves(self.params))

    def snapshot(self) -> dict:
        """A consistent copy of everything a checkpoint holds; marks the checkpoint in the
        record and writes the record's entries so far."""
        with self._lock:
            state = dict(params=self.params, opt_state=self.opt_state,
                         frames=self.frames, updates=self.updates)
            if self.record is not None:
                self.record.append(CHECKPOINT, 0, self.updates)
        if self.record is not None:
            self.record.flush()
        return state
