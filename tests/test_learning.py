"""Learning is proven on tasks a random (or memoryless) policy cannot pass."""
import numpy as np

import a3c_jax
from a3c_jax import A3CConfig

CARTPOLE_FRAMES = 150_000
MEMORY_FRAMES = 60_000


def test_ff_agent_learns_cartpole(tmp_path):
    # random play scores about 22; the budget is 150k frames (about 15 s here)
    config = A3CConfig(game="CartPole-v1", num_workers=2, envs_per_worker=4,
                       max_frames=CARTPOLE_FRAMES, learning_rate=3e-3,
                       checkpoint_dir=str(tmp_path), checkpoint_every=CARTPOLE_FRAMES)
    result = a3c_jax.train(config, progress_every=0)
    assert np.mean(result.episode_returns[-20:]) >= 300


def memory_success(tmp_path, arch):
    """Success rate of a greedy evaluation after training on CueMemory (chance is 50%)."""
    config = A3CConfig(game="a3c_jax/CueMemory-v0", arch=arch, num_workers=2, envs_per_worker=4,
                       t_max=6, lstm_size=32, max_frames=MEMORY_FRAMES, learning_rate=1e-2,
                       checkpoint_dir=str(tmp_path / arch), checkpoint_every=MEMORY_FRAMES)
    result = a3c_jax.train(config, progress_every=0)
    evaluation = a3c_jax.evaluate(result.checkpoint, episodes=200, seed=10_000, greedy=True)
    return float(np.mean(np.asarray(evaluation.returns) > 0))


def test_lstm_remembers_the_cue_and_ff_cannot(tmp_path):
    assert memory_success(tmp_path, "lstm") >= 0.95
    assert memory_success(tmp_path, "ff") <= 0.65
