import threading

import jax.numpy as jnp
import numpy as np
import optax

from a3c_jax import A3CConfig, SharedState, shared_rmsprop
from a3c_jax.training_run import prepare_run


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


def _counted_run(tmp_path, num_workers):
    config = A3CConfig(game="CartPole-v1", num_workers=num_workers, envs_per_worker=2,
                       max_frames=4_000, checkpoint_dir=str(tmp_path))
    run = prepare_run(config)
    run.start()
    for worker in run.workers:
        worker.join()  # each stops on its own once the frame budget is spent
    run.stop_and_join()  # closes the run log
    return run


def test_one_worker_is_never_stale_and_every_update_is_counted(tmp_path):
    run = _counted_run(tmp_path / "one", 1)
    (worker,) = run.workers
    assert worker.applied_updates == run.shared.updates == 4_000 // 10
    assert worker.stale_updates == 0


def test_with_several_workers_staleness_counts_the_others_updates(tmp_path):
    run = _counted_run(tmp_path / "three", 3)
    assert sum(w.applied_updates for w in run.workers) == run.shared.updates
    for worker in run.workers:
        # at most every update applied by the others in the whole run
        assert 0 <= worker.stale_updates <= worker.applied_updates * (run.shared.updates - 1)
