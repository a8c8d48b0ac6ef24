"""Training survives interruption, crashes, failing workers, NaNs and bad input without losing work."""
import os
import signal
import subprocess
import sys
import threading
import time

import gymnasium as gym
import jax
import numpy as np
import pytest

import a3c_jax
from a3c_jax import A3CConfig, WorkerFailed, checkpoint


def cartpole(tmp_path, **overrides):
    values = dict(game="CartPole-v1", num_workers=2, envs_per_worker=2, max_frames=2000,
                  checkpoint_dir=str(tmp_path / "ckpt"), checkpoint_every=1000)
    values.update(overrides)
    return A3CConfig(**values)


def start_training(tmp_path, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "a3c_jax.train", "--game", "CartPole-v1", "--max-frames", "100000000",
         "--checkpoint-every", "5000", *extra], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(tmp_path, process, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if checkpoint.list_checkpoints(str(tmp_path / "checkpoints"), "CartPole-v1"):
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError("training wrote no checkpoint")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_a_final_checkpoint_and_exits_0(tmp_path, signum):
    process = start_training(tmp_path)
    wait_for_checkpoint(tmp_path, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)  # a guard against hanging, not a speed check
    assert process.returncode == 0, err
    final = out.strip().splitlines()[-1]
    assert final.startswith("interrupted at") and "checkpoint:" in final
    path = final.split("checkpoint: ")[1].split(";")[0]
    assert checkpoint.load(str(tmp_path / path)).frames < 100_000_000


def test_second_interrupt_quits_at_once_and_keeps_complete_checkpoints(tmp_path):
    process = start_training(tmp_path)
    wait_for_checkpoint(tmp_path, process)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    directory = str(tmp_path / "checkpoints")
    found = checkpoint.list_checkpoints(directory, "CartPole-v1")
    assert found and checkpoint.latest(directory, "CartPole-v1") == found[-1]
    for path in found:
        checkpoint.load(path)


def test_resume_from_the_command_line_continues_everything(tmp_path):
    def train(*extra):
        # the paper's RMSProp and annealed rate: the checkpoint holds a schedule position to check
        return subprocess.run([sys.executable, "-m", "a3c_jax.train", "--game", "CartPole-v1",
                               "--optimizer", "rmsprop", "--lr-anneal-frames", "-1",
                               "--checkpoint-every", "100000", *extra], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)

    first = train("--max-frames", "6000")
    assert first.returncode == 0, first.stderr
    directory = str(tmp_path / "checkpoints")
    saved = checkpoint.load(checkpoint.latest(directory, "CartPole-v1"))
    rows_before = (tmp_path / "runs/CartPole-v1_ff_seed0/metrics.csv").read_text().splitlines()
    second = train("--max-frames", "12000", "--resume")
    assert second.returncode == 0, second.stderr
    resumed = checkpoint.load(checkpoint.latest(directory, "CartPole-v1"))
    assert resumed.frames >= 12000 and resumed.updates > saved.updates
    assert int(resumed.opt_state["1"]["count"]) == resumed.updates  # schedule position carried over
    rows_after = (tmp_path / "runs/CartPole-v1_ff_seed0/metrics.csv").read_text().splitlines()
    assert rows_after[: len(rows_before)] == rows_before and len(rows_after) > len(rows_before)
    assert sum(row.startswith("frames,") for row in rows_after) == 1  # appended, one header
    seed_style = train("--max-frames", "14000", "--load_file", resumed.path, "--training")
    assert seed_style.returncode == 0, seed_style.stderr
    assert checkpoint.load(checkpoint.latest(directory, "CartPole-v1")).frames >= 14000


def test_resuming_restores_the_optimizer_statistics_exactly(tmp_path):
    first = a3c_jax.train(cartpole(tmp_path, optimizer="rmsprop"), progress_every=0)
    saved = checkpoint.load(first.checkpoint)
    # nothing left to train: the final checkpoint is the restored state, written again
    again = a3c_jax.train(cartpole(tmp_path, optimizer="rmsprop", max_frames=saved.frames),
                          resume_from=first.checkpoint, progress_every=0)
    restored = checkpoint.load(again.checkpoint)
    assert restored.frames == saved.frames and restored.updates == saved.updates
    jax.tree.map(np.testing.assert_array_equal, restored.opt_state, saved.opt_state)
    assert any(np.abs(g).max() > 0 for g in jax.tree.leaves(saved.opt_state["1"]["g"]))


WRITER = """
import sys, numpy as np
from a3c_jax import A3CConfig, checkpoint
params = {"w": np.random.default_rng(0).normal(size=(1500, 1000)).astype(np.float32)}
found = checkpoint.list_checkpoints(sys.argv[1], "Pong")
start = int(found[-1].rsplit("_", 1)[1]) + 1 if found else 1
for frames in range(start, start + 10**6):
    checkpoint.save(sys.argv[1], "Pong", config=A3CConfig(), params=params, opt_state={},
                    frames=frames, updates=frames, num_actions=6, obs_shape=(4, 84, 84), keep=2)
    if frames == start:
        print("writing", flush=True)
"""


def test_sigkill_mid_write_never_leaves_a_truncated_newest_checkpoint(tmp_path):
    directory = str(tmp_path / "ckpt")
    rng = np.random.default_rng(0)
    for _ in range(6):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, directory], stdout=subprocess.PIPE,
                                  text=True)
        assert writer.stdout.readline() == "writing\n"
        time.sleep(0.3 * rng.random())  # somewhere in the stream of 6 MB writes
        writer.kill()
        writer.stdout.close()
        writer.wait()
        found = checkpoint.list_checkpoints(directory, "Pong")
        assert found
        for path in found:
            checkpoint.load(path)  # every visible checkpoint is complete
        assert checkpoint.latest(directory, "Pong") == found[-1]


class FailingEnv(gym.Wrapper):
    """CartPole that raises after `fail_after` steps."""

    def __init__(self, fail_after):
        super().__init__(gym.make("CartPole-v1"))
        self.steps, self.fail_after = 0, fail_after

    def step(self, action):
        self.steps += 1
        if self.steps > self.fail_after:
            raise RuntimeError("emulator exploded")
        return self.env.step(action)


def test_a_failing_worker_stops_the_run_with_its_traceback(tmp_path):
    threads_before = threading.active_count()
    with pytest.raises(WorkerFailed, match="emulator exploded") as info:
        a3c_jax.train(cartpole(tmp_path, max_frames=10**7),
                      env_fn=lambda seed: FailingEnv(300 if seed % 2 else 10**9), progress_every=0)
    assert "Traceback" in str(info.value) and "last checkpoint:" in str(info.value)
    assert threading.active_count() == threads_before
    assert checkpoint.latest(str(tmp_path / "ckpt"), "CartPole-v1") is not None


class NaNRewardEnv(gym.Wrapper):
    """CartPole whose rewards are NaN from step `start` on, for `count` steps."""

    def __init__(self, start, count):
        super().__init__(gym.make("CartPole-v1"))
        self.steps, self.start, self.count = 0, start, count

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.start <= self.steps < self.start + self.count:
            reward = float("nan")
        return obs, reward, terminated, truncated, info


def test_a_few_nonfinite_updates_are_skipped_and_counted(tmp_path):
    config = cartpole(tmp_path, num_workers=1, envs_per_worker=1, max_frames=3000)
    result = a3c_jax.train(config, env_fn=lambda seed: NaNRewardEnv(100, 3), progress_every=0,
                           log_dir=str(tmp_path / "run"))
    assert result.frames >= 3000
    skipped = [row.split(",")[-1] for row in
               (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]]
    assert int(skipped[-1]) >= 1
    params = checkpoint.load(result.checkpoint).params
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params))


def test_persistent_nonfinite_loss_stops_training_keeping_finite_params(tmp_path):
    config = cartpole(tmp_path, max_frames=10**7, max_nonfinite_updates=5)
    with pytest.raises(WorkerFailed, match="5 updates in a row had a non-finite loss"):
        a3c_jax.train(config, env_fn=lambda seed: NaNRewardEnv(50, 10**9), progress_every=0)
    path = checkpoint.latest(str(tmp_path / "ckpt"), "CartPole-v1")
    params = checkpoint.load(path).params
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params))


def run_clis(commands, cwd) -> list[tuple[int, str]]:
    """Runs `python -m module args...` for each (module, *args) at once (each is mostly
    interpreter and JAX start-up): their (exit status, stderr), in order."""
    processes = [subprocess.Popen([sys.executable, "-m", *command], cwd=cwd, text=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for command in commands]
    stderrs = [process.communicate(timeout=300)[1] for process in processes]
    return [(process.returncode, stderr) for process, stderr in zip(processes, stderrs)]


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    lstm = a3c_jax.train(cartpole(tmp_path, arch="lstm", lstm_size=16), progress_every=0)
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    truncated = tmp_path / "CartPole-v1_99"
    truncated.write_bytes(open(lstm.checkpoint, "rb").read()[:1000])
    before = sorted(os.listdir(tmp_path / "ckpt"))
    cases = [
        (("a3c_jax.train", "--game", "Pongg"), "unknown game"),
        (("a3c_jax.train", "--load_file", "missing/Pong_5"), "does not exist"),
        (("a3c_jax.train", "--game", "CartPole-v1", "--load_file", "notes.txt"), "not a complete"),
        (("a3c_jax.train", "--game", "CartPole-v1", "--load_file", str(truncated)), "not a complete"),
        (("a3c_jax.train", "--game", "CartPole-v1", "--load_file", lstm.checkpoint),
         "LSTM checkpoint but the agent is FF"),
        (("a3c_jax.train", "--game", "CartPole-v1", "--arch", "lstm", "--optimizer", "rmsprop",
          "--load_file", lstm.checkpoint),
         "(use --optimizer adam); it was trained with --lstm-size 16, this run has --lstm-size 256"),
        (("a3c_jax.evaluate", "--game", "Breakout", "--load_file", lstm.checkpoint),
         "trained on CartPole-v1, not Breakout"),
        (("a3c_jax.evaluate", "--game", "Breakout", "--load_file", lstm.checkpoint), "actions"),
        (("a3c_jax.evaluate", "--game", "Pong", "--episodes", "0"), "--episodes 0"),
        (("a3c_jax.train", "--max-frames", "0"), "max_frames"),
        (("a3c_jax.train", "--num-workers", "-1"), "num_workers"),
        (("a3c_jax.train", "--game", "CartPole-v1", "--checkpoint-dir", "notes.txt/sub"),
         "--checkpoint-dir"),
        (("a3c_jax.evaluate", "--game", "Pong", "--results", "notes.txt/r.json"), "--results"),
    ]
    results = run_clis([args for args, _ in cases], cwd=tmp_path)
    for (args, message), (returncode, stderr) in zip(cases, results):
        assert returncode == 2, (args, stderr)
        assert message in stderr, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1, (args, stderr)
    assert sorted(os.listdir(tmp_path / "ckpt")) == before
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "runs").exists()


def test_evaluation_with_one_seed_is_repeatable(tmp_path):
    result = a3c_jax.train(cartpole(tmp_path), progress_every=0)
    first = a3c_jax.evaluate(result.checkpoint, episodes=3, seed=7)
    second = a3c_jax.evaluate(result.checkpoint, episodes=3, seed=7)
    assert first.returns == second.returns and first.lengths == second.lengths


def test_one_worker_training_with_a_fixed_seed_is_reproducible(tmp_path):
    def run(name):
        config = cartpole(tmp_path / name, num_workers=1, envs_per_worker=2, max_frames=4000, seed=3)
        result = a3c_jax.train(config, progress_every=0)
        return result, checkpoint.load(result.checkpoint)

    (r1, c1), (r2, c2) = run("a"), run("b")
    assert r1.episode_returns == r2.episode_returns and c1.frames == c2.frames
    jax.tree.map(np.testing.assert_array_equal, c1.params, c2.params)
