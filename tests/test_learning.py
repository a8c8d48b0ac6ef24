"""Learning is proven on tasks a random (or memoryless) policy cannot pass."""
import gymnasium as gym
import numpy as np

import a3c_jax
from a3c_jax import A3CConfig

CARTPOLE_FRAMES = 250_000
MEMORY_FRAMES = 100_000
CATCH_FRAMES = 150_000


class PixelCatch(gym.Env):
    """bsuite's Catch drawn as a [1, 84, 84] uint8 image: catch a falling ball with a paddle.

    The ball falls 9 rows from a random one of 5 columns; the paddle moves left, stays or
    moves right. +1 for a catch, -1 for a miss: random play averages about -0.6.
    """

    rows, cols = 10, 5

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 255, (1, 84, 84), np.uint8)
        self.action_space = gym.spaces.Discrete(3)

    def _obs(self):
        image = np.zeros((1, 84, 84), np.uint8)
        image[0, self.ball_row * 8:(self.ball_row + 1) * 8, self.ball_col * 16:(self.ball_col + 1) * 16] = 255
        image[0, 72:80, self.paddle * 16:(self.paddle + 1) * 16] = 255
        return image

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.ball_row, self.ball_col = 0, int(self.np_random.integers(self.cols))
        self.paddle = self.cols // 2
        return self._obs(), {}

    def step(self, action):
        self.paddle = int(np.clip(self.paddle + int(action) - 1, 0, self.cols - 1))
        self.ball_row += 1
        if self.ball_row == self.rows - 1:
            return self._obs(), 1.0 if self.paddle == self.ball_col else -1.0, True, False, {}
        return self._obs(), 0.0, False, False, {}


def test_ff_agent_learns_cartpole(tmp_path):
    # random play scores about 22. The paper's RMSProp, whose steps grow with the gradient,
    # lets the critic keep up where the Atari defaults' Adam ended anywhere from 31 to 500
    # (README). The bar is the best mean of 20 games in a row: lr 3e-3
    # reaches 500 and usually stays there, but once in CI (250k frames) it reached 500 and
    # then fell apart, leaving a last 20 of 190 (15, 500, 15, ...), so the last 20 tests the
    # run's luck, not whether it learnt (README: Tests). The budget is 250k frames (about 14 s).
    config = A3CConfig(game="CartPole-v1", num_workers=2, envs_per_worker=4, t_max=5,
                       optimizer="rmsprop", learning_rate=3e-3, lr_anneal_frames=-1,
                       max_frames=CARTPOLE_FRAMES,
                       checkpoint_dir=str(tmp_path), checkpoint_every=CARTPOLE_FRAMES)
    result = a3c_jax.train(config, progress_every=0)
    returns = np.asarray(result.episode_returns)
    assert returns[:20].mean() < 100  # it starts near random
    assert np.convolve(returns, np.ones(20) / 20, "valid").max() >= 450


def test_paper_network_learns_from_pixels_with_the_default_config(tmp_path):
    # the Atari path: conv torso on uint8 images, the default optimizer settings;
    # the budget leaves a margin over the bar for every seed (README: Tests)
    config = A3CConfig(game="PixelCatch", max_frames=CATCH_FRAMES, checkpoint_dir=str(tmp_path),
                       checkpoint_every=CATCH_FRAMES)
    result = a3c_jax.train(config, env_fn=lambda seed: PixelCatch(), progress_every=0)
    returns = np.asarray(result.episode_returns)
    assert returns[:200].mean() < 0.0  # it starts near random (about -0.6)
    assert returns[-200:].mean() >= 0.8


def memory_success(tmp_path, arch):
    """Success rate of a greedy evaluation after training on CueMemory (chance is 50%).

    lr 3e-3: with 1e-2 the LSTM stayed at chance for 1 seed in 3 (one worker, so not the
    threads' order) and in 2 of 9 two-worker runs; 3e-3 succeeded for seeds 0-5 both ways."""
    config = A3CConfig(game="a3c_jax/CueMemory-v0", arch=arch, num_workers=2, envs_per_worker=4,
                       t_max=6, lstm_size=32, max_frames=MEMORY_FRAMES, learning_rate=3e-3,
                       checkpoint_dir=str(tmp_path / arch), checkpoint_every=MEMORY_FRAMES)
    result = a3c_jax.train(config, progress_every=0)
    evaluation = a3c_jax.evaluate(result.checkpoint, episodes=200, seed=10_000, greedy=True)
    return float(np.mean(np.asarray(evaluation.returns) > 0))


def test_lstm_remembers_the_cue_and_ff_cannot(tmp_path):
    assert memory_success(tmp_path, "lstm") >= 0.95
    assert memory_success(tmp_path, "ff") <= 0.65
