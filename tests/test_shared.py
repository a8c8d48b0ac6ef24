import threading

import jax
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


def _counted_run(tmp_path, num_workers, before_apply=None):
    """A CartPole run of 4,000 frames; before_apply(shared) runs before each update a worker applies."""
    config = A3CConfig(game="CartPole-v1", num_workers=num_workers, envs_per_worker=2, t_max=5,
                       max_frames=4_000, checkpoint_dir=str(tmp_path))  # 10 frames an update
    run = prepare_run(config)
    if before_apply is not None:
        apply = run.shared.apply

        def apply_later(grads, frames, worker, read_at):
            before_apply(run.shared)
            return apply(grads, frames, worker, read_at)

        run.shared.apply = apply_later
    run.start()
    for worker in run.workers:
        worker.join()  # each stops on its own once the frame budget is spent
    run.stop_and_join()  # closes the run log
    return run


def test_one_worker_is_never_stale_and_every_update_is_counted(tmp_path):
    run = _counted_run(tmp_path / "one", 1)
    (worker,) = run.workers
    assert worker.stats.applied_updates == run.shared.updates == 4_000 // 10
    assert worker.stats.stale_updates == 0


def test_staleness_counts_the_updates_applied_since_the_params_were_read(tmp_path):
    """Two updates by someone else land between each read and update: each is 2 updates stale."""
    def two_others(shared):
        zeros = jax.tree.map(jnp.zeros_like, shared.params)
        for _ in range(2):
            SharedState.apply(shared, zeros, 0)  # no frames: the budget stays the worker's

    run = _counted_run(tmp_path / "busy", 1, before_apply=two_others)
    (worker,) = run.workers
    assert worker.stats.applied_updates == 400 and run.shared.updates == 3 * 400
    assert worker.stats.stale_updates == 2 * 400


def test_with_several_workers_staleness_counts_only_the_others_updates(tmp_path):
    run = _counted_run(tmp_path / "three", 3)
    stats = [worker.stats for worker in run.workers]
    assert sum(s.applied_updates for s in stats) == run.shared.updates
    for s in stats:
        # a worker's rollouts follow one another, so each update by another worker falls
        # within at most one of them
        assert 0 <= s.stale_updates <= run.shared.updates - s.applied_updates
    assert sum(s.stale_updates for s in stats) > 0  # three threads on two cores overlap
