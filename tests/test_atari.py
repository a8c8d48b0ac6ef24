"""The paper's preprocessing, checked on real ALE games (ale-py ships the ROMs)."""
import cv2
import gymnasium as gym
import numpy as np
import pytest

from a3c_jax.envs import (EpisodicLife, FireReset, UnknownGameError, atari_rom_id, check_game,
                          game_label, make_env)


def wrappers(env):
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env


def find(env, kind):
    return next(w for w in wrappers(env) if isinstance(w, kind))


@pytest.mark.parametrize("name", ["Pong", "pong", "PongNoFrameskip-v4", "ALE/Pong-v5", "Pong-v0"])
def test_pong_spellings_resolve_to_one_rom(name):
    assert atari_rom_id(name) == "pong" and game_label(name) == "Pong"


def test_other_spellings():
    assert atari_rom_id("SpaceInvaders") == "space_invaders"
    assert atari_rom_id("Breakout-v0") == "breakout"
    assert game_label("space_invaders") == "SpaceInvaders"


def test_unknown_game_names_the_closest_roms():
    with pytest.raises(UnknownGameError, match="unknown game 'Pongg'.*pong"):
        check_game("Pongg")
    with pytest.raises(UnknownGameError, match="space_invaders"):
        check_game("SpaceInvader")


def test_observation_is_a_stack_of_four_84x84_uint8_frames():
    env = make_env("Pong", training=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.action_space.n == 6  # the minimal action set
    next_obs, *_ = env.step(0)
    np.testing.assert_array_equal(next_obs[:3], obs[1:])  # the stack shifts by one frame


def test_action_repeat_four_and_max_over_the_last_two_raw_frames():
    env = make_env("Breakout", training=False)
    env.reset(seed=1)
    env.action_space.seed(1)
    ale = env.unwrapped.ale
    preprocessing = find(env, gym.wrappers.AtariPreprocessing)
    buffers_differ = False
    for _ in range(40):
        before = ale.getEpisodeFrameNumber()
        obs, *_ = env.step(env.action_space.sample())
        assert ale.getEpisodeFrameNumber() - before == 4
        raw_last_two = np.maximum(preprocessing.obs_buffer[0], preprocessing.obs_buffer[1])
        expected = cv2.resize(raw_last_two, (84, 84), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(obs[-1], expected)
        buffers_differ |= bool(np.any(preprocessing.obs_buffer[0] != preprocessing.obs_buffer[1]))
    assert buffers_differ  # the two raw frames differ, so taking their max matters


def test_up_to_30_noops_at_reset():
    env = make_env("Pong", training=False)  # Pong also presses FIRE (1 step) after the no-ops
    starts = set()
    for seed in range(12):
        env.reset(seed=seed)
        starts.add(env.unwrapped.ale.getEpisodeFrameNumber())
    assert len(starts) > 3  # a random number of no-ops
    assert max(starts) <= (30 + 1) * 4


def test_fire_at_reset_only_for_games_that_have_it():
    assert any(isinstance(w, FireReset) for w in wrappers(make_env("Breakout")))
    assert not any(isinstance(w, FireReset) for w in wrappers(make_env("Freeway")))


def test_reward_clipping_in_training_only():
    def rewards(training):
        env = make_env("SpaceInvaders", training=training)
        env.reset(seed=0)
        env.action_space.seed(0)
        seen = set()
        for _ in range(600):
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            seen.add(float(reward))
            if terminated or truncated:
                env.reset()
        return seen

    assert rewards(training=True) <= {-1.0, 0.0, 1.0} and 1.0 in rewards(training=True)
    assert max(rewards(training=False)) > 1.0  # raw scores: 5 to 30 points an invader


def test_breakout_life_loss_ends_training_episode_not_the_game():
    env = make_env("Breakout", training=True)
    env.reset(seed=0)
    env.action_space.seed(0)
    ale = env.unwrapped.ale
    assert ale.lives() == 5
    ends, game_scores = [], []
    while len(game_scores) < 1:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            ends.append(ale.lives())
            if "episode" in info:
                game_scores.append(info["episode"]["r"])
            frame = ale.getEpisodeFrameNumber()
            env.reset()
            if ale.lives() > 0 and "episode" not in info:
                assert ale.getEpisodeFrameNumber() > frame  # the same game goes on
    assert ends == [4, 3, 2, 1, 0]  # five training episodes, one per life


def test_evaluation_plays_all_five_lives_in_one_episode():
    env = make_env("Breakout", training=False)
    assert not any(isinstance(w, EpisodicLife) for w in wrappers(env))
    env.reset(seed=0)
    env.action_space.seed(0)
    terminated = truncated = False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    assert env.unwrapped.ale.lives() == 0


def test_sticky_actions_and_time_limit_are_options():
    plain = make_env("Pong").unwrapped.ale
    sticky = make_env("Pong", sticky_actions=True).unwrapped.ale
    assert plain.getFloat("repeat_action_probability") == 0.0
    assert sticky.getFloat("repeat_action_probability") == pytest.approx(0.25)
    env = make_env("Pong", training=False, max_episode_frames=400)
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
        assert not terminated
    assert steps <= 100 and env.unwrapped.ale.getEpisodeFrameNumber() <= 400
