"""The Ray backend: the same A3C in actor processes (ray_backend.py), sharing one local cluster."""
import dataclasses
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import jax
import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the Ray backend's tests need the [ray] extra")

import a3c_jax  # noqa: E402
from a3c_jax import A3CConfig, WorkerFailed, checkpoint  # noqa: E402
from a3c_jax.record import UPDATE, read  # noqa: E402
from a3c_jax.replay import Replay  # noqa: E402
from test_learning import CARTPOLE_FRAMES  # noqa: E402  (one budget for both learning tests)


# The envs below are defined here: send them to the worker processes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    """One small local cluster for every test here: 2 CPUs, a 100 MB object store, no dashboard."""
    ray.init(num_cpus=2, object_store_memory=100 * 1024**2, include_dashboard=False,
             configure_logging=False, log_to_driver=False)
    yield
    ray.shutdown()


def cartpole(tmp_path, **overrides) -> A3CConfig:
    values = dict(game="CartPole-v1", backend="ray", num_workers=2, envs_per_worker=2, t_max=5,
                  optimizer="rmsprop", learning_rate=3e-3, max_frames=2_000,
                  checkpoint_dir=str(tmp_path / "checkpoints"), checkpoint_every=1_000)
    return A3CConfig(**{**values, **overrides})


def leaves_equal(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_one_ray_worker_gives_the_threads_run_bit_for_bit(tmp_path):
    config = cartpole(tmp_path, num_workers=1, max_frames=1_000)
    on_ray = a3c_jax.train(config, progress_every=0)
    threads = a3c_jax.train(dataclasses.replace(config, backend="threads",
                                                checkpoint_dir=str(tmp_path / "threads")),
                            progress_every=0)
    a, b = checkpoint.load(on_ray.checkpoint), checkpoint.load(threads.checkpoint)
    assert (a.frames, a.updates) == (b.frames, b.updates) == (1_000, 100)
    assert leaves_equal(a.params, b.params) and leaves_equal(a.opt_state, b.opt_state)
    assert on_ray.episode_returns == threads.episode_returns


def test_cartpole_learns_with_two_ray_workers(tmp_path):
    """The threads' learning test (tests/test_learning.py), on Ray: the same settings and bar,
    twice the frames (the Ray workers interleave unpredictably: at the threads' budget it fell
    short in 2 of 4 runs)."""
    frames = 2 * CARTPOLE_FRAMES
    config = cartpole(tmp_path, envs_per_worker=4, lr_anneal_frames=-1, max_frames=frames,
                      checkpoint_every=frames)
    result = a3c_jax.train(config, progress_every=0)
    assert np.mean(result.episode_returns[-20:]) >= 300


def test_a_ray_run_resumes_a_threads_checkpoint_and_back_and_replays(tmp_path):
    run_dir = str(tmp_path / "run")
    threads = a3c_jax.train(cartpole(tmp_path, backend="threads", max_frames=500),
                            log_dir=run_dir, progress_every=0)
    on_ray = a3c_jax.train(cartpole(tmp_path, max_frames=1_000), resume_from=threads.checkpoint,
                           log_dir=run_dir, progress_every=0)
    back = a3c_jax.train(cartpole(tmp_path, backend="threads", max_frames=1_500),
                         resume_from=on_ray.checkpoint, log_dir=run_dir, progress_every=0)
    assert threads.frames < 1_000 <= on_ray.frames < 1_500 <= back.frames
    assert os.path.basename(on_ray.checkpoint) == f"CartPole-v1_{on_ray.frames}"
    # The parameter server recorded its updates in the same record: the replay (threads'
    # code) reproduces all three sessions.
    replay = Replay(run_dir)
    replay.run()
    assert leaves_equal(replay.shared.params, checkpoint.load(back.checkpoint).params)
    assert all(match.identical for match in replay.checkpoints if match.original)


class KillsItsProcess(gym.Wrapper):
    """CartPole whose 300th step SIGKILLs its own process: the first time only when given a
    flag file (made then), every time without."""

    def __init__(self, flag: str | None = None):
        super().__init__(gym.make("CartPole-v1"))
        self.flag, self.steps = flag, 0

    def step(self, action):
        self.steps += 1
        if self.steps == 300 and not (self.flag and os.path.exists(self.flag)):
            if self.flag:
                open(self.flag, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return self.env.step(action)


def test_a_killed_worker_process_is_restarted_and_no_frames_count_twice(tmp_path):
    flag = str(tmp_path / "killed")
    config = cartpole(tmp_path, num_workers=2, envs_per_worker=1, max_frames=3_000)
    result = a3c_jax.train(config, env_fn=lambda seed: KillsItsProcess(flag),
                           log_dir=str(tmp_path / "run"), progress_every=0)
    assert os.path.exists(flag)  # a worker did die
    entries, _ = read(str(tmp_path / "run"))
    applied = entries[entries["kind"] == UPDATE]
    assert result.frames >= 3_000
    assert result.frames == len(applied) * 5 == result.updates * 5  # frames counted once per update
    assert set(applied["worker"]) == {0, 1}


def test_a_worker_that_keeps_dying_stops_the_run_once_its_restarts_are_spent(tmp_path):
    config = cartpole(tmp_path, num_workers=1, envs_per_worker=1, max_frames=10**6,
                      max_worker_restarts=1)
    with pytest.raises(WorkerFailed, match="died 2 times"):
        a3c_jax.train(config, env_fn=lambda seed: KillsItsProcess(), progress_every=0)


class RaisesAtStep(gym.Wrapper):
    def __init__(self, step: int):
        super().__init__(gym.make("CartPole-v1"))
        self.at, self.steps = step, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.at:
            raise RuntimeError("the env broke")
        return self.env.step(action)


def test_an_exception_in_a_worker_stops_the_run_with_its_error_and_a_checkpoint(tmp_path):
    config = cartpole(tmp_path, num_workers=1, envs_per_worker=1, max_frames=10**6,
                      checkpoint_every=100)
    with pytest.raises(WorkerFailed, match="the env broke") as failed:
        a3c_jax.train(config, env_fn=lambda seed: RaisesAtStep(400), progress_every=0)
    assert "last checkpoint: " in str(failed.value)
    assert checkpoint.latest(config.checkpoint_dir, "CartPole-v1") is not None


class KillsTheParameterServer(gym.Wrapper):
    """CartPole whose 400th step SIGKILLs the run's parameter-server process."""

    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps == 400:
            from a3c_jax.ray_backend import SERVER_NAME
            name = next(n for n in ray.util.list_named_actors() if n.startswith(SERVER_NAME))
            os.kill(ray.get(ray.get_actor(name).pid.remote()), signal.SIGKILL)
        return self.env.step(action)


def test_a_dead_parameter_server_stops_the_run_naming_the_last_checkpoint(tmp_path):
    config = cartpole(tmp_path, num_workers=1, envs_per_worker=1, max_frames=10**6,
                      checkpoint_every=100)
    with pytest.raises(WorkerFailed, match="parameter server died") as failed:
        a3c_jax.train(config, env_fn=lambda seed: KillsTheParameterServer(), progress_every=0)
    message = str(failed.value)
    path = message.rpartition("last checkpoint: ")[2]
    assert "\n" not in message and os.path.isfile(path)
    assert checkpoint.load(path).frames >= 100


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_to_the_driver_write_a_final_checkpoint_and_exit_0(tmp_path, signum):
    command = [sys.executable, "-m", "a3c_jax.train", "--game", "CartPole-v1", "--backend", "ray",
               "--num-workers", "1", "--envs-per-worker", "2", "--t-max", "5",
               "--max-frames", "100000000", "--checkpoint-dir", str(tmp_path / "checkpoints"),
               "--log-dir", str(tmp_path / "run")]
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=env)
    metrics = tmp_path / "run" / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and (not metrics.exists() or metrics.stat().st_size < 500):
        time.sleep(0.5)
    driver.send_signal(signum)
    output, _ = driver.communicate(timeout=120)
    assert driver.returncode == 0, output
    final = checkpoint.latest(str(tmp_path / "checkpoints"), "CartPole-v1")
    assert final is not None and "interrupted at" in output and final in output
