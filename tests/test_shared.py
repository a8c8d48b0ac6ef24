import threading

import jax.numpy as jnp
import numpy as np
import optax

from a3c_jax import SharedState, shared_rmsprop


def test_threads_lose_no_update_and_match_a_serial_replay():
    """N threads x K updates through the lock equal the same updates replayed in admission order.

    RMSProp is nonlinear in the order of its inputs, so a lost, doubled or torn update
    would make the replay differ.
    """
    n_threads, k_updates, frames_each = 6, 40, 20
    optimizer = shared_rmsprop(0.01, decay=0.9, eps=0.1)
    params0 = {"w": jnp.zeros(3), "b": jnp.ones(2)}
    shared = SharedState(params0, optimizer)
    admitted = []  # (update number, grads)
    start = threading.Barrier(n_threads)

    def worker(rank):
        start.wait()
        for k in range(k_updates):
            grads = {"w": jnp.full(3, rank + 1.0) * (k + 1) / 7.0, "b": jnp.full(2, -rank - 0.5)}
            number = shared.apply(grads, frames_each)
            admitted.append((number, grads))

    threads = [threading.Thread(target=worker, args=(rank,)) for rank in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert shared.updates == n_threads * k_updates
    assert shared.frames == n_threads * k_updates * frames_each
    assert sorted(number for number, _ in admitted) == list(range(1, n_threads * k_updates + 1))
    params, state = params0, optimizer.init(params0)
    for _, grads in sorted(admitted, key=lambda item: item[0]):
        updates, state = optimizer.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    for name in params:
        np.testing.assert_allclose(shared.params[name], params[name], rtol=1e-6)
    assert int(shared.opt_state.count) == n_threads * k_updates
