"""Game names and the paper's Atari protocol, checked on real ALE games (ale-py ships the ROMs)."""
import numpy as np
import pytest

from a3c_jax import A3CConfig
from a3c_jax.envs import (AtariGames, AtariScreen, UnknownGameError, agent_reset, make_envs,
                          resolve_game)
from a3c_jax.evaluation_run import play_game
from a3c_jax.training_setup import worker_envs
from a3c_jax.worker import worker_seeds


@pytest.mark.parametrize("name", ["Pong", "pong", "PongNoFrameskip-v4", "ALE/Pong-v5", "Pong-v0"])
def test_pong_spellings_resolve_to_one_rom(name):
    game = resolve_game(name)
    assert (game.rom, game.label, game.is_atari, game.frames_per_step) == ("pong", "Pong", True, 4)


def test_other_spellings_and_gymnasium_ids():
    assert resolve_game("SpaceInvaders").rom == "space_invaders"
    assert resolve_game("Breakout-v0").rom == "breakout"
    assert resolve_game("space_invaders").label == "SpaceInvaders"
    cartpole = resolve_game("CartPole-v1")
    assert (cartpole.rom, cartpole.label, cartpole.frames_per_step) == (None, "CartPole-v1", 1)
    assert resolve_game("a3c_jax/CueMemory-v0").label == "a3c_jax-CueMemory-v0"


def test_unknown_game_names_the_closest_roms():
    with pytest.raises(UnknownGameError, match="unknown game 'Pongg'.*pong"):
        resolve_game("Pongg")
    with pytest.raises(UnknownGameError, match="space_invaders"):
        resolve_game("SpaceInvader")
    own = resolve_game("PixelCatch", own_env=True)  # the caller's env: the name only labels it
    assert (own.label, own.is_atari, own.frames_per_step) == ("PixelCatch", False, 1)


def test_observations_stack_four_84x84_frames_of_four_emulator_frames_each():
    env = AtariGames(resolve_game("Pong"), 3, training=True)
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 4, 84, 84) and obs.dtype == np.uint8
    assert env.single_action_space.n == 6  # the minimal action set
    assert not obs[:, :3].any() and obs[:, 3].any()  # zeros before a game's first frame
    next_obs, _, _, _, next_info = env.step(np.zeros(3, np.int64))
    np.testing.assert_array_equal(next_obs[:, :3], obs[:, 1:])  # the stack shifts by one frame
    np.testing.assert_array_equal(next_info["episode_frame_number"] - info["episode_frame_number"], 4)


def test_a_shorter_stack_holds_the_same_newest_frames():
    four, two = (AtariGames(resolve_game("Pong"), 2, training=True, frame_stack=k) for k in (4, 2))
    obs4, obs2 = four.reset(seed=5)[0], two.reset(seed=5)[0]
    assert obs2.shape == (2, 2, 84, 84)
    for action in np.random.default_rng(0).integers(0, 6, (40, 2)):
        np.testing.assert_array_equal(obs2, obs4[:, 2:])
        obs4, obs2 = four.step(action)[0], two.step(action)[0]


def test_games_start_after_a_random_number_of_noops():
    env = AtariGames(resolve_game("Pong"), 1, training=False)
    starts = {int(env.reset(seed=seed)[1]["episode_frame_number"][0]) for seed in range(12)}
    assert len(starts) > 3 and max(starts) <= 30


def breakout_actions(steps, seed=0):
    """Random Breakout play that presses FIRE often enough to launch the ball after each life."""
    return np.random.default_rng(seed).integers(0, 4, steps)


def test_evaluation_sees_the_training_frames_on_breakout():
    """The same seed and actions through the training path (a worker's envs) and the
    evaluation path (play_game): the agent gets the same observations and the same memory
    resets at every step of a whole game; only the episode ends and rewards differ."""
    config = A3CConfig(game="Breakout", envs_per_worker=1, seed=3)
    game = resolve_game(config.game)
    _, (seed,) = worker_seeds(config.seed, 0, 1)
    actions = breakout_actions(3000)
    seen = []  # what the evaluated agent sees: (obs, reset) before each step

    def act(obs, reset):
        seen.append((obs.copy(), reset.copy()))
        return actions[len(seen) - 1:len(seen)]

    frames = config.frames_per_observation  # what evaluate() reads from the checkpoint's config
    score, length = play_game(make_envs(game, [seed], training=False, frame_stack=frames), act, seed)
    training = worker_envs(config, game, 0)
    evaluation = make_envs(game, [seed], training=False, frame_stack=frames)
    obs, _ = training.reset(seed=[seed])
    evaluation.reset(seed=seed)
    reset, training_episode_ends, raw_score = np.ones(1, bool), [], 0.0
    for t in range(length):
        np.testing.assert_array_equal(seen[t][0], obs, err_msg=f"step {t}")
        np.testing.assert_array_equal(seen[t][1], reset, err_msg=f"step {t}")
        obs, reward, terminated, truncated, info = training.step(actions[t:t + 1])
        eval_obs, eval_reward, eval_terminated, _, eval_info = evaluation.step(actions[t:t + 1])
        np.testing.assert_array_equal(eval_obs, obs)
        np.testing.assert_array_equal(np.clip(eval_reward, -1, 1), reward)
        raw_score += float(eval_reward[0])
        if terminated[0]:
            training_episode_ends.append(int(info["lives"][0]))
            assert eval_terminated[0] == (t == length - 1)  # evaluation: only the game's end
        reset = agent_reset(terminated, truncated, info)
    # a lost life ends 4 training episodes (4, 3, 2, 1 lives left), then the game is over
    assert training_episode_ends == [4, 3, 2, 1, 5]
    assert sum(bool(r[0]) for _, r in seen) == 5  # memory restarts at the start and each lost life
    assert score == raw_score and score == info["final_info"]["episode"]["r"][0]


def test_rewards_are_clipped_in_training_only_and_scores_never():
    def play(training):
        env = AtariGames(resolve_game("SpaceInvaders"), 4, training=training)
        env.reset(seed=0)
        rng, rewards, scores = np.random.default_rng(0), set(), []
        for _ in range(2500):
            _, reward, _, _, info = env.step(rng.integers(0, 6, 4))
            rewards.update(float(r) for r in reward)
            if "final_info" in info:
                final = info["final_info"]
                scores.extend(final["episode"]["r"][final["_episode"]])
        return rewards, scores

    (clipped, scores), (raw, raw_scores) = play(True), play(False)
    assert clipped <= {-1.0, 0.0, 1.0} and 1.0 in clipped
    assert max(raw) > 1.0  # 5 to 30 points an invader
    assert scores and max(scores) > 30 and scores == raw_scores


def test_time_limit_truncates_the_game():
    env = AtariGames(resolve_game("Pong"), 1, training=False, max_episode_frames=400)
    env.reset(seed=0)
    for step in range(200):
        _, _, terminated, truncated, info = env.step(np.zeros(1, np.int64))
        if truncated[0]:
            break
    assert truncated[0] and not terminated[0] and step < 100
    assert info["final_info"]["episode"]["l"][0] == step + 1


def test_sticky_actions_change_the_play():
    def frames(sticky):
        env = AtariGames(resolve_game("Breakout"), 1, training=True, sticky_actions=sticky)
        env.reset(seed=0)
        return np.stack([env.step(a[None])[0] for a in breakout_actions(100)])

    assert not np.array_equal(frames(True), frames(False))
    np.testing.assert_array_equal(frames(False), frames(False))


def test_gif_screen_follows_the_played_game_in_colour():
    game = resolve_game("Breakout")
    env, screen = AtariGames(game, 1, training=False), AtariScreen(game)
    env.reset(seed=5)
    screen.reset(5)
    first = screen.frame
    for action in breakout_actions(50):
        _, _, _, _, info = env.step(action[None])
        screen.step(action[None], info)
    assert first.shape == (210, 160, 3) and not np.array_equal(screen.frame, first)
    elsewhere = AtariScreen(game)
    elsewhere.reset(6)  # another seed: another number of no-ops
    env.reset(seed=5)
    _, _, _, _, info = env.step(np.zeros(1, np.int64))
    with pytest.raises(RuntimeError, match="left the played game"):
        elsewhere.step(np.zeros(1, np.int64), info)
