"""SharedState: the one mutable object that all workers update."""
import threading
import time

import jax
import jax.numpy as jnp
import optax


class SharedState:
    """Parameters, optimizer state and counters shared by the worker threads.

    Workers read `params` without the lock: JAX arrays are immutable, so reading the
    reference gives one whole version, perhaps a few updates old (as in the paper).
    """

    def __init__(self, params, optimizer: optax.GradientTransformation, opt_state=None,
                 frames: int = 0, updates: int = 0):
        # Invariant: the lock is held whenever params, opt_state or a counter changes.
        self._lock = threading.Lock()
        self.params = params
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

    def apply(self, grads, frames: int) -> int:
        """Applies one worker's gradients and counts its frames; returns this update's number (1, 2, ...)."""
        start = time.perf_counter()
        with self._lock:
            self.lock_wait_seconds += time.perf_counter() - start
            self.params, self.opt_state = self._apply_update(self.params, self.opt_state, grads)
            self.frames += frames
            self.updates += 1
            self.nonfinite_in_a_row = 0
            return self.updates

    def skip(self, frames: int) -> int:
        """Counts frames whose gradients were not finite, without updating; returns the run of such skips."""
        with self._lock:
            self.frames += frames
            self.skipped_updates += 1
            self.nonfinite_in_a_row += 1
            return self.nonfinite_in_a_row

    def params_are_finite(self) -> bool:
        return all(bool(jnp.isfinite(leaf).all()) for leaf in jax.tree.leaves(self.params))

    def snapshot(self) -> dict:
        """A consistent copy of everything a checkpoint holds."""
        with self._lock:
            return dict(params=self.params, opt_state=self.opt_state,
                        frames=self.frames, updates=self.updates)
