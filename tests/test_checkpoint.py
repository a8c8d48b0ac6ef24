import dataclasses
import os
import re
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import serialization

import a3c_jax
from a3c_jax import A3CConfig, CheckpointError, checkpoint


def tiny_config(tmp_path, **overrides):
    values = dict(game="CartPole-v1", num_workers=1, envs_per_worker=2, max_frames=400,
                  checkpoint_dir=str(tmp_path / "ckpt"), checkpoint_every=100, learning_rate=1e-3)
    values.update(overrides)
    return A3CConfig(**values)


def test_training_writes_named_checkpoints_and_keeps_the_newest(tmp_path):
    result = a3c_jax.train(tiny_config(tmp_path), progress_every=0)
    found = checkpoint.list_checkpoints(str(tmp_path / "ckpt"), "CartPole-v1")
    assert result.checkpoint == found[-1]
    assert os.path.basename(result.checkpoint) == f"CartPole-v1_{result.frames}"
    assert 1 <= len(found) <= 3
    assert not [f for f in os.listdir(tmp_path / "ckpt") if f.startswith(".")]  # no temp files left
    ckpt = checkpoint.load(result.checkpoint)
    assert ckpt.frames == result.frames >= 400 and ckpt.updates == result.updates
    assert ckpt.config == tiny_config(tmp_path) and ckpt.num_actions == 2 and ckpt.obs_shape == (4,)


def test_resume_continues_frames_and_optimizer_statistics(tmp_path):
    first = a3c_jax.train(tiny_config(tmp_path, optimizer="rmsprop"), progress_every=0)
    saved = checkpoint.load(first.checkpoint)
    g = saved.opt_state["1"]["g"]  # chain(clip, shared_rmsprop): the RMSProp statistics
    assert max(float(np.abs(v).max()) for v in jax.tree.leaves(g)) > 0
    second = a3c_jax.train(tiny_config(tmp_path, optimizer="rmsprop", max_frames=800),
                           resume_from=first.checkpoint, progress_every=0)
    resumed = checkpoint.load(second.checkpoint)
    assert resumed.frames >= 800 and resumed.updates > saved.updates
    assert int(resumed.opt_state["1"]["count"]) == resumed.updates


def test_restored_params_are_the_saved_ones(tmp_path):
    result = a3c_jax.train(tiny_config(tmp_path), progress_every=0)
    ckpt = checkpoint.load(result.checkpoint)
    net = a3c_jax.make_networks((4,), np.float32, 2)
    params = serialization.from_state_dict(net.init(jax.random.PRNGKey(123)), ckpt.params)
    jax.tree.map(np.testing.assert_array_equal, params, ckpt.params)


def test_bad_checkpoint_files_are_refused_with_the_fix(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(str(tmp_path / "nothing_here"))
    junk = tmp_path / "Pong_100"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a complete a3c_jax checkpoint"):
        checkpoint.load(str(junk))
    result = a3c_jax.train(tiny_config(tmp_path), progress_every=0)
    data = open(result.checkpoint, "rb").read()
    truncated = tmp_path / "CartPole-v1_5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a complete"):
        checkpoint.load(str(truncated))


def test_lstm_checkpoint_refused_as_ff(tmp_path):
    result = a3c_jax.train(tiny_config(tmp_path, arch="lstm", lstm_size=16), progress_every=0)
    with pytest.raises(CheckpointError, match="LSTM checkpoint but the agent is FF"):
        a3c_jax.train(tiny_config(tmp_path, max_frames=800), resume_from=result.checkpoint,
                      progress_every=0)


@pytest.mark.parametrize("saved, resumed, message", [
    (dict(optimizer="adam"), dict(optimizer="rmsprop"),
     "trained with --optimizer adam, this run has --optimizer rmsprop (use --optimizer adam)"),
    (dict(arch="lstm", lstm_size=16), dict(arch="lstm", lstm_size=8),
     "trained with --lstm-size 16, this run has --lstm-size 8 (use --lstm-size 16)"),
    (dict(param_average=0.0), dict(param_average=0.1),
     "trained with --param-average 0.0, this run has --param-average 0.1 (use --param-average 0.0)"),
])
def test_a_checkpoint_of_other_settings_is_refused_for_training(tmp_path, saved, resumed, message):
    result = a3c_jax.train(tiny_config(tmp_path, **saved), progress_every=0)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        a3c_jax.train(tiny_config(tmp_path, max_frames=800, **resumed),
                      resume_from=result.checkpoint, progress_every=0)


def test_settings_that_shape_frames_are_checked_only_for_frames():
    saved = A3CConfig(arch="lstm", lstm_size=16, frame_stack=4)
    ckpt = checkpoint.Checkpoint(path="Pong_1", label="Pong", config=saved, frames=1, updates=1,
                                 num_actions=6, obs_shape=(4, 84, 84), params={}, opt_state={})
    other = dataclasses.replace(saved, frame_norm="centre", centred_features=False, head_init="zero",
                                frame_stack=2, dense_activation="elu")
    with pytest.raises(CheckpointError) as refused:
        checkpoint.check_compatible(ckpt, num_actions=6, obs_shape=(4, 84, 84), config=other)
    assert "(use --frame-norm std); it was trained with --frame-stack 4, this run has " \
           "--frame-stack 2 (use --frame-stack 4); it was trained with --centred-features" \
        in str(refused.value)
    assert "trained with --dense-activation relu, this run has --dense-activation elu " \
           "(use --dense-activation relu)" in str(refused.value)
    assert "head" not in str(refused.value)  # the heads' initialisation does not outlive the start
    vectors = dataclasses.replace(ckpt, obs_shape=(4,))
    checkpoint.check_compatible(vectors, num_actions=6, obs_shape=(4,), config=other)
    checkpoint.check_compatible(ckpt, num_actions=6, obs_shape=(4, 84, 84))  # evaluation: its own


def test_the_agent_of_a_checkpoint_is_its_params_average(tmp_path):
    result = a3c_jax.train(tiny_config(tmp_path, param_average=0.5), progress_every=0)
    ckpt = checkpoint.load(result.checkpoint)
    average = ckpt.opt_state["2"]["average"]  # chain(clip, adam, average_params)
    jax.tree.map(np.testing.assert_array_equal, ckpt.average_params, average)
    assert not np.array_equal(ckpt.average_params["params"]["policy"]["kernel"],
                              ckpt.params["params"]["policy"]["kernel"])
    _, played = a3c_jax.load_agent(ckpt)
    jax.tree.map(np.testing.assert_array_equal, serialization.to_state_dict(played), average)
    last = a3c_jax.train(tiny_config(tmp_path, param_average=0.0, checkpoint_dir=str(tmp_path / "last")),
                         progress_every=0)
    assert checkpoint.load(last.checkpoint).average_params is None  # it plays its last params


def test_an_exported_agent_is_small_evaluates_like_its_checkpoint_and_cannot_resume(tmp_path):
    result = a3c_jax.train(tiny_config(tmp_path), progress_every=0)
    exported = checkpoint.export_agent(checkpoint.load(result.checkpoint), str(tmp_path / "agent"))
    assert os.path.getsize(exported) < 0.5 * os.path.getsize(result.checkpoint)  # no Adam moments
    assert checkpoint.load(exported).opt_state is None
    full = a3c_jax.evaluate(result.checkpoint, episodes=3, seed=5)
    assert a3c_jax.evaluate(exported, episodes=3, seed=5).returns == full.returns
    with pytest.raises(CheckpointError, match="exported agent without optimizer state"):
        a3c_jax.train(tiny_config(tmp_path, max_frames=800), resume_from=exported, progress_every=0)


def test_the_shipped_pong_agent_beats_the_random_agent():
    agent = Path(__file__).parents[1] / "agents" / "Pong_ff"
    trained = a3c_jax.evaluate(str(agent), episodes=2, seed=100)
    random = a3c_jax.evaluate(game="Pong", episodes=2, seed=100)
    assert max(random.returns) <= -18  # the random agent loses 21-0 or close to it
    assert trained.mean >= 15  # over 30 games it averaged 20.2, min 16 (README: A trained Pong agent)
