"""Evaluation: whole games under the DQN/A3C protocol with a checkpoint, or the random agent."""
import os
from dataclasses import dataclass, field

import jax
import numpy as np
from flax import serialization

from a3c_jax import checkpoint
from a3c_jax.envs import atari_rom_id, check_game, game_label, make_env
from a3c_jax.networks import make_networks
from a3c_jax.reference_scores import human_normalised

GIF_EVERY = 2  # keep every 2nd agent step: 7.5 frames of play per second of GIF at 2x speed
GIF_MAX_FRAMES = 900


@dataclass(frozen=True)
class EvalResult:
    returns: list  # unclipped score of each episode
    lengths: list  # agent steps of each episode
    mean: float = field(init=False)
    std: float = field(init=False)
    min: float = field(init=False)
    max: float = field(init=False)

    def __post_init__(self):
        scores = np.asarray(self.returns, np.float64)
        for name, fn in (("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)):
            object.__setattr__(self, name, float(fn(scores)))


def evaluate(checkpoint_path: str | None = None, game: str | None = None, episodes: int = 10, *,
             seed: int = 0, greedy: bool = False, env_fn=None, gif_path: str | None = None,
             sticky_actions: bool = False, max_episode_frames: int = 108_000) -> EvalResult:
    """Plays `episodes` whole episodes (episode i seeded with seed + i) and returns their scores.

    With no checkpoint the agent picks uniformly random actions (the "brainless" baseline).
    The game defaults to the checkpoint's; env_fn(seed) -> gymnasium.Env replaces it.
    """
    if episodes < 1:
        raise ValueError(f"episodes={episodes} is invalid: play at least 1 episode")
    ckpt = checkpoint.load(checkpoint_path) if checkpoint_path is not None else None
    game = game if game is not None else (ckpt.config.game if ckpt else None)
    if game is None and env_fn is None:
        raise ValueError("no game to play: pass a game or a checkpoint")
    if env_fn is None:
        check_game(game)
        env = make_env(game, training=False, sticky_actions=sticky_actions,
                       max_episode_frames=max_episode_frames, render=gif_path is not None)
    else:
        env = env_fn(seed)
    policy = None
    if ckpt is not None:
        num_actions, obs_shape = int(env.action_space.n), env.observation_space.shape
        checkpoint.check_compatible(ckpt, arch=ckpt.config.arch, num_actions=num_actions,
                                    obs_shape=obs_shape,
                                    label=game_label(game) if env_fn is None else None)
        networks = make_networks(obs_shape, env.observation_space.dtype, num_actions,
                                 ckpt.config.arch, ckpt.config.lstm_size,
                                 ckpt.config.frame_norm)
        params = serialization.from_state_dict(networks.init(jax.random.PRNGKey(0)), ckpt.params)
        policy = (networks, params)
    env.action_space.seed(seed)
    returns, lengths, gif_frames = [], [], []
    for episode in range(episodes):
        record = gif_path is not None and episode == 0
        score, length = _play_episode(env, policy, seed + episode, greedy,
                                      gif_frames if record else None)
        returns.append(score)
        lengths.append(length)
    env.close()
    if gif_path is not None:
        write_gif(gif_path, gif_frames)
    return EvalResult(returns, lengths)


def _play_episode(env, policy, seed: int, greedy: bool, gif_frames: list | None):
    obs, _ = env.reset(seed=seed)
    if policy is not None:
        networks, params = policy
        carry, reset, key = networks.initial_carry(1), np.ones(1, bool), jax.random.PRNGKey(seed)
    score, length, done = 0.0, 0, False
    while not done:
        if gif_frames is not None and length % GIF_EVERY == 0 and len(gif_frames) < GIF_MAX_FRAMES:
            gif_frames.append(env.render())
        if policy is None:
            action = env.action_space.sample()
        else:
            action, carry, key = networks.act(params, obs[None], carry, reset, key, greedy=greedy)
            action, reset = int(action[0]), np.zeros(1, bool)
        obs, reward, terminated, truncated, _ = env.step(action)
        score, length, done = score + float(reward), length + 1, terminated or truncated
    return score, length


def write_gif(path: str, frames: list) -> None:
    """An animated GIF of RGB frames [H, W, 3] uint8, looping, at 15 frames per second."""
    import imageio.v2 as imageio
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    imageio.mimsave(path, frames, format="GIF", duration=1000 / 15, loop=0)


def results_record(result: EvalResult, game: str, ckpt: checkpoint.Checkpoint | None,
                   greedy: bool, seed: int) -> dict:
    """The JSON results file's content."""
    rom = atari_rom_id(game)
    return {
        "game": game_label(game),
        "checkpoint": ckpt.path if ckpt else None,
        "agent": "trained" if ckpt else "random",
        "frames_trained": ckpt.frames if ckpt else 0,
        "config": ckpt.config.to_dict() if ckpt else None,
        "greedy": greedy,
        "seed": seed,
        "episodes": len(result.returns),
        "scores": result.returns,
        "lengths": result.lengths,
        "mean": result.mean, "std": result.std, "min": result.min, "max": result.max,
        "human_normalised": human_normalised(rom, result.mean) if rom else None,
    }
