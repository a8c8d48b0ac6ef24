"""The Ray backend on a two-node cluster: removing a node leaves the run going on the other."""
import threading

import pytest

ray = pytest.importorskip("ray", reason="the Ray backend's tests need the [ray] extra")
from ray.cluster_utils import Cluster  # noqa: E402

import a3c_jax  # noqa: E402
from a3c_jax import A3CConfig  # noqa: E402
from a3c_jax.record import UPDATE, read  # noqa: E402


def test_a_node_removed_mid_run_leaves_the_run_going_on_the_other(tmp_path):
    """Head (the driver and the parameter server, no CPUs) plus two 1-CPU nodes: each of the two
    workers takes one node's CPU, so each node holds one worker and a lost worker cannot move."""
    cluster = Cluster(initialize_head=True, head_node_args=dict(
        num_cpus=0, object_store_memory=75 * 1024**2, include_dashboard=False))
    nodes = [cluster.add_node(num_cpus=1, object_store_memory=75 * 1024**2) for _ in range(2)]
    ray.init(address=cluster.address)
    try:
        config = A3CConfig(game="CartPole-v1", backend="ray", num_workers=2, envs_per_worker=2,
                           t_max=5, optimizer="rmsprop", learning_rate=3e-3, max_frames=6_000,
                           checkpoint_dir=str(tmp_path / "checkpoints"), checkpoint_every=2_000)
        run_dir = tmp_path / "run"

        def remove_a_node_once_both_workers_updated():
            while True:
                try:
                    entries, _ = read(str(run_dir))  # written with each checkpoint
                except ValueError:
                    entries = None
                if entries is not None and len(set(entries[entries["kind"] == UPDATE]["worker"])) == 2:
                    cluster.remove_node(nodes[1])
                    return
                threading.Event().wait(0.2)

        remover = threading.Thread(target=remove_a_node_once_both_workers_updated, daemon=True)
        remover.start()
        result = a3c_jax.train(config, log_dir=str(run_dir), progress_every=0)
        remover.join(timeout=5)
        assert not remover.is_alive()  # the node was removed during the run
        assert result.frames >= 6_000
        entries, _ = read(str(run_dir))
        updates = entries[entries["kind"] == UPDATE]
        last_of = {w: max(i for i, e in enumerate(updates) if e["worker"] == w) for w in (0, 1)}
        survivor = max(last_of, key=last_of.get)
        assert sum(updates["worker"] == survivor) > sum(updates["worker"] != survivor)
    finally:
        ray.shutdown()
        cluster.shutdown()
