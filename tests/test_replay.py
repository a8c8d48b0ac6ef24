"""Recording the update order of multi-worker runs and replaying them bit for bit (record.py, replay.py)."""
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from flax import serialization

from a3c_jax import A3CConfig, checkpoint, train
from a3c_jax.record import ENTRIES_FILE, ENTRY, UPDATE, RecordError, read
from a3c_jax.replay import Replay


def cartpole(tmp_path, num_workers, max_frames=3_000, **overrides) -> A3CConfig:
    """10 frames an update, a checkpoint every 1,000 frames, all of them kept."""
    return A3CConfig(game="CartPole-v1", num_workers=num_workers, envs_per_worker=2, t_max=5,
                     optimizer="rmsprop", learning_rate=3e-3, max_frames=max_frames,
                     checkpoint_dir=str(tmp_path / "checkpoints"), checkpoint_every=1_000,
                     keep_checkpoints=100, **overrides)


def bitwise_equal(a, b) -> bool:
    """Leaves equal bitwise, comparing live states as the state dicts a checkpoint holds."""
    a, b = serialization.to_state_dict(a), serialization.to_state_dict(b)
    return all(np.array_equal(np.asarray(x), np.asarray(y))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def replay_matches(run_dir, result) -> Replay:
    """Replays run_dir to its end and checks it against the run's TrainResult and checkpoints."""
    replay = Replay(str(run_dir))
    replay.run()
    final = checkpoint.load(result.checkpoint)
    assert replay.shared.updates == final.updates and replay.shared.frames == final.frames
    assert bitwise_equal(replay.shared.params, final.params)
    assert bitwise_equal(replay.shared.opt_state, final.opt_state)
    assert sorted(replay.episode_returns) == sorted(result.episode_returns) and result.episode_returns
    assert replay.checkpoints and all(match.identical for match in replay.checkpoints)
    replay.close()
    return replay


@pytest.mark.parametrize("num_workers", [2, 4])
def test_a_recorded_multi_worker_run_replays_bit_for_bit(tmp_path, num_workers):
    result = train(cartpole(tmp_path, num_workers), log_dir=str(tmp_path / "run"), progress_every=0)
    entries, _ = read(str(tmp_path / "run"))
    updates = entries[entries["kind"] == UPDATE]
    assert len(updates) == result.updates and set(updates["worker"]) == set(range(num_workers))
    replay_matches(tmp_path / "run", result)


def test_two_recorded_runs_with_one_seed_differ_so_the_record_is_what_repeats_them(tmp_path):
    """Four workers race for the lock: the same seed gives another update order and other params."""
    runs = []
    for name in ("a", "b"):
        result = train(cartpole(tmp_path / name, 4), log_dir=str(tmp_path / name / "run"),
                       progress_every=0)
        runs.append((read(str(tmp_path / name / "run"))[0], checkpoint.load(result.checkpoint)))
    (record_a, final_a), (record_b, final_b) = runs
    assert record_a.tobytes() != record_b.tobytes()
    assert not bitwise_equal(final_a.params, final_b.params)


def test_a_run_interrupted_and_resumed_replays_bit_for_bit(tmp_path):
    first = train(cartpole(tmp_path, 2, max_frames=1_500), log_dir=str(tmp_path / "run"),
                  progress_every=0)
    # A run killed after its last checkpoint recorded updates that the checkpoint lacks:
    # resuming drops them, so the record goes on from the checkpoint.
    with open(tmp_path / "run" / ENTRIES_FILE, "ab") as f:
        f.write(np.array([(UPDATE, 1, first.updates)] * 3, ENTRY).tobytes())
    resumed = train(cartpole(tmp_path, 2), resume_from=first.checkpoint,
                    log_dir=str(tmp_path / "run"), progress_every=0)
    assert resumed.frames >= 3_000
    replay = Replay(str(tmp_path / "run"))
    replay.run()
    final = checkpoint.load(resumed.checkpoint)
    assert replay.shared.updates == final.updates
    assert bitwise_equal(replay.shared.params, final.params)
    assert bitwise_equal(replay.shared.opt_state, final.opt_state)
    assert sorted(replay.episode_returns) == sorted(first.episode_returns + resumed.episode_returns)
    assert all(match.identical for match in replay.checkpoints)


def test_replay_until_gives_the_update_and_what_made_it(tmp_path):
    # The entropy bonus falls with the updates, so the replay must also give each update the
    # bonus of the params version it read.
    train(cartpole(tmp_path, 2, max_frames=1_000, entropy_anneal_frames=500),
          log_dir=str(tmp_path / "run"), progress_every=0)
    replay = Replay(str(tmp_path / "run"))
    update = replay.run(until=40)
    assert update.number == replay.shared.updates == 40 and update.applied
    assert update.trajectory.obs.shape == (6, 2, 4) and update.trajectory.action.shape == (5, 2)
    # read_at may already be dropped from replay.versions (only max_lag old versions are kept)
    assert 0 <= update.read_at < 40 and 40 - 1 - update.read_at <= replay.max_lag
    # The gradients are those of the trajectory under the params it was rolled out with.
    learner = replay.session.workers[update.worker].learner
    grads, _ = learner.gradients(update.params_read, update.trajectory, update.read_at)
    assert bitwise_equal(grads, update.grads)
    other_bonus, _ = learner.gradients(update.params_read, update.trajectory, update.read_at + 10)
    assert not bitwise_equal(other_bonus, update.grads)
    replay.close()


def test_a_record_that_does_not_match_its_checkpoints_is_refused(tmp_path):
    train(cartpole(tmp_path, 2, max_frames=1_000), log_dir=str(tmp_path / "run"), progress_every=0)
    path = tmp_path / "run" / ENTRIES_FILE
    entries = np.fromfile(path, ENTRY)
    applied = np.flatnonzero(entries["kind"] == UPDATE)
    entries["worker"][applied] = 1 - entries["worker"][applied]  # the other worker made each update
    entries.tofile(path)
    with pytest.raises(RecordError, match="does not match that checkpoint"):
        Replay(str(tmp_path / "run")).run()
    command = [sys.executable, "-m", "a3c_jax.train", "--replay", str(tmp_path / "run")]
    failed = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1 and "does not match that checkpoint" in failed.stderr


def test_resuming_into_another_runs_record_is_refused(tmp_path):
    other = train(cartpole(tmp_path / "other", 1, max_frames=500), log_dir=str(tmp_path / "other_run"),
                  progress_every=0)
    train(cartpole(tmp_path, 1, max_frames=300), log_dir=str(tmp_path / "run"), progress_every=0)
    with pytest.raises(RecordError, match="belongs to another run"):
        train(cartpole(tmp_path, 1), resume_from=other.checkpoint, log_dir=str(tmp_path / "run"),
              progress_every=0)
    assert os.path.exists(other.checkpoint)


def test_a_record_begun_by_resuming_into_a_new_run_dir_replays_from_that_checkpoint(tmp_path):
    first = train(cartpole(tmp_path, 2, max_frames=1_000), progress_every=0)  # no metrics folder
    resumed = train(cartpole(tmp_path, 2, max_frames=2_000), resume_from=first.checkpoint,
                    log_dir=str(tmp_path / "run"), progress_every=0)
    replay = Replay(str(tmp_path / "run"))
    replay.run()
    assert bitwise_equal(replay.shared.params, checkpoint.load(resumed.checkpoint).params)
    assert sorted(replay.episode_returns) == sorted(resumed.episode_returns)
