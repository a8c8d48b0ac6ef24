"""experiments/temperature.py's LostPoints: which points of a game the agent lost."""
import os
import sys

import gymnasium as gym
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments"))
from temperature import LostPoints, first_points, point_after_point  # noqa: E402


class ScriptedRewards(gym.vector.VectorEnv):
    """One env whose steps pay the given rewards, then end the episode."""

    def __init__(self, rewards):
        self.num_envs, self.rewards = 1, rewards
        self.single_observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.single_action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, 1)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, 1)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros((1, 1), np.float32), {}

    def step(self, actions):
        reward = self.rewards[self.t]
        self.t += 1
        done = np.array([self.t == len(self.rewards)])
        return np.zeros((1, 1), np.float32), np.array([reward], np.float32), done, np.zeros(1, bool), {}


def test_lost_points_counts_points_not_steps():
    env = LostPoints(ScriptedRewards([0, -1, 0, 0, 1, 1, 0, -1, 1]))
    env.reset(seed=0)
    for _ in range(9):
        env.step(np.zeros(1, np.int64))
    assert env.lost == [0, 3]  # the first and the fourth point, whatever steps they fell on
    env.reset(seed=1)
    assert env.lost == []


class ScriptedBatch(ScriptedRewards):
    """Two envs, each paying its own scripted rewards."""

    def __init__(self, rewards):
        super().__init__(rewards)
        self.num_envs = 2

    def step(self, actions):
        reward = np.array([r[self.t] for r in self.rewards], np.float32)
        self.t += 1
        return np.zeros((2, 1), np.float32), reward, np.zeros(2, bool), np.zeros(2, bool), {}


def test_first_points_keeps_each_games_first_sign():
    env = ScriptedBatch([[0, 0, 1, -1, 0], [-1, 1, 0, 0, 0]])
    signs = first_points(env, lambda obs, reset: np.zeros(2, np.int64), seed=0)
    assert signs.tolist() == [1, -1]
    env = ScriptedBatch([[0, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
    assert first_points(env, lambda obs, reset: np.zeros(2, np.int64), seed=0, max_steps=4).tolist() == [0, 0]


def test_point_after_point_counts_consecutive_pairs():
    # points W L W L W W: won after won once (4 -> 5), lost after won twice, won after lost twice
    assert point_after_point(6, [1, 3]).tolist() == [[0, 2], [2, 1]]
    assert point_after_point(1, [0]).sum() == 0  # one point makes no pair
