"""The training path for Atari: ale-py's C++ vector env under the paper's protocol, on real games."""
import numpy as np

from a3c_jax.envs import AtariTrainingVectorEnv


def play(env, steps, seed=0):
    """Random play; yields (terminated, truncated, lives, reward, info) per step."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(
            rng.integers(0, env.single_action_space.n, env.num_envs))
        yield terminated, truncated, info["lives"], reward, info


def test_observations_are_batches_of_four_84x84_frames():
    env = AtariTrainingVectorEnv("Pong", 3)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 4, 84, 84) and obs.dtype == np.uint8
    assert env.single_action_space.n == 6
    next_obs, *_ = env.step(np.zeros(3, np.int64))
    np.testing.assert_array_equal(next_obs[:, :3], obs[:, 1:])  # the stack shifts by one frame


def test_breakout_life_loss_ends_the_training_episode_and_the_game_goes_on():
    env = AtariTrainingVectorEnv("Breakout", 1)
    lives_at_ends, games = [], []
    for terminated, truncated, lives, _, info in play(env, 5000):
        if terminated[0] or truncated[0]:
            lives_at_ends.append(int(lives[0]))
        if "final_info" in info:
            games.append(float(info["final_info"]["episode"]["r"][0]))
            break
    # four lives lost (the game goes on with 4, 3, 2, 1 left), then game over: a new game, 5 lives
    assert lives_at_ends == [4, 3, 2, 1, 5]
    assert len(games) == 1


def test_rewards_are_clipped_but_game_scores_are_not():
    env = AtariTrainingVectorEnv("SpaceInvaders", 4)
    rewards, scores = set(), []
    for _, _, _, reward, info in play(env, 3000):
        rewards.update(float(r) for r in reward)
        if "final_info" in info:
            final = info["final_info"]
            scores.extend(final["episode"]["r"][final["_episode"]])
    assert rewards <= {-1.0, 0.0, 1.0} and 1.0 in rewards
    assert scores and max(scores) > 30  # raw points: 5 to 30 an invader


def test_time_limit_truncates():
    env = AtariTrainingVectorEnv("Pong", 1, max_episode_frames=400)
    for step, (terminated, truncated, *_) in enumerate(play(env, 200)):
        if truncated[0]:
            break
    assert truncated[0] and not terminated[0] and step < 100
