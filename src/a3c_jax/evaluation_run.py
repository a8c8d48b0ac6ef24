"""An evaluation run, for library users: `a3c_jax.evaluate(...)` plays whole games with a
checkpoint (or the random agent) through the envs training plays (envs.make_envs)."""
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import numpy as np
from flax import serialization

from a3c_jax import checkpoint
from a3c_jax.config import A3CConfig
from a3c_jax.envs import AtariScreen, Game, agent_reset, make_envs, resolve_game
from a3c_jax.networks import A3CNetworks, make_networks, network_options
from a3c_jax.reference_scores import human_normalised

GIF_EVERY = 2  # keep every 2nd agent step: 7.5 frames of play per second of GIF at 2x speed
GIF_MAX_FRAMES = 900

Act = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (obs [1, ...], reset [1]) -> action [1]


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


def evaluate(checkpoint_path: str | checkpoint.Checkpoint | None = None, game: str | None = None,
             episodes: int = 10, *, seed: int = 0, greedy: bool = False, env_fn=None,
             gif_path: str | None = None, sticky_actions: bool = False,
             max_episode_frames: int = 108_000) -> EvalResult:
    """Plays `episodes` whole episodes (episode i seeded with seed + i) and returns their scores.

    The agent sees what it saw in training (the same envs, the same memory resets at a lost
    life) but an Atari episode is the whole game and its score is unclipped. With no
    checkpoint (a path or a loaded Checkpoint) the agent picks uniformly random actions.
    The game defaults to the checkpoint's; env_fn(seed) -> gymnasium.Env replaces it.
    """
    if episodes < 1:
        raise ValueError(f"episodes={episodes} is invalid: play at least 1 episode")
    ckpt = checkpoint_path
    if isinstance(ckpt, str):
        ckpt = checkpoint.load(ckpt)
    game = game if game is not None else (ckpt.config.game if ckpt else None)
    if game is None and env_fn is None:
        raise ValueError("no game to play: pass a game or a checkpoint")
    game = resolve_game(game or "custom", own_env=env_fn is not None)
    env = make_envs(game, [seed], training=False, env_fn=env_fn, sticky_actions=sticky_actions,
                    frame_stack=(ckpt.config if ckpt else A3CConfig()).frames_per_observation,
                    max_episode_frames=max_episode_frames, render=gif_path is not None)
    num_actions = int(env.single_action_space.n)
    agent = _checkpoint_agent(ckpt, env, game, env_fn is None, greedy) if ckpt else None
    gif = _Gif(env, game, sticky_actions, max_episode_frames) if gif_path is not None else None
    returns, lengths = [], []
    for episode in range(episodes):
        act = agent(seed + episode) if agent else _random_agent(num_actions, seed + episode)
        score, length = play_game(env, act, seed + episode, gif if episode == 0 else None)
        returns.append(score)
        lengths.append(length)
    env.close()
    if gif is not None:
        gif.close()
        write_gif(gif_path, gif.frames)
    return EvalResult(returns, lengths)


def play_game(env, act: Act, seed: int, gif: "_Gif | None" = None) -> tuple[float, int]:
    """One whole episode of a one-env vector env from make_envs(training=False): its
    unclipped score and length in agent steps. act(obs, reset) sees what a training worker's
    agent sees, reset marking where its memory starts afresh (envs.agent_reset)."""
    obs, _ = env.reset(seed=seed)
    if gif is not None:
        gif.reset(seed)
    reset = np.ones(1, bool)
    while True:
        if gif is not None:
            gif.record()
        action = np.asarray(act(obs, reset))
        obs, _, terminated, truncated, info = env.step(action)
        if gif is not None:
            gif.step(action, info)
        reset = agent_reset(terminated, truncated, info)
        if terminated[0] or truncated[0]:
            episode = info["final_info"]["episode"]
            return float(episode["r"][0]), int(episode["l"][0])


def _checkpoint_agent(ckpt: checkpoint.Checkpoint, env, game: Game, check_label: bool,
                      greedy: bool) -> Callable[[int], Act]:
    """game seed -> the checkpoint's policy for one game (sampling with PRNGKey(seed))."""
    obs_space, num_actions = env.single_observation_space, int(env.single_action_space.n)
    checkpoint.check_compatible(ckpt, num_actions=num_actions, obs_shape=obs_space.shape,
                                label=game.label if check_label else None)
    networks, params = load_agent(ckpt)

    def for_game(seed: int) -> Act:
        carry, key = networks.initial_carry(1), jax.random.PRNGKey(seed)

        def act(obs, reset):
            nonlocal carry, key
            action, carry, key = networks.act(params, obs, carry, reset, key, greedy=greedy)
            return action

        return act

    return for_game


def load_agent(ckpt: str | checkpoint.Checkpoint) -> tuple[A3CNetworks, Any]:
    """A checkpoint's (or exported agent's) networks and the params its agent plays
    (Checkpoint.agent_params), ready for networks.act(params, obs [B, ...], carry, reset [B],
    key) or networks.module.apply."""
    if isinstance(ckpt, str):
        ckpt = checkpoint.load(ckpt)
    obs_dtype = np.uint8 if len(ckpt.obs_shape) == 3 else np.float32  # frames or vectors
    networks = make_networks(ckpt.obs_shape, obs_dtype, ckpt.num_actions,
                             **network_options(ckpt.config))
    return networks, serialization.from_state_dict(networks.init(jax.random.PRNGKey(0)), ckpt.agent_params)


def _random_agent(num_actions: int, seed: int) -> Act:
    rng = np.random.default_rng(seed)
    return lambda obs, reset: rng.integers(0, num_actions, 1)


class _Gif:
    """The screen of the first game, every GIF_EVERY-th agent step, at most GIF_MAX_FRAMES:
    for Atari from AtariScreen, otherwise from the env's render()."""

    def __init__(self, env, game: Game, sticky_actions: bool, max_episode_frames: int):
        self.env, self.frames, self._steps = env, [], 0
        self.screen = AtariScreen(game, sticky_actions=sticky_actions,
                                  max_episode_frames=max_episode_frames) if game.is_atari else None

    def reset(self, seed: int) -> None:
        if self.screen is not None:
            self.screen.reset(seed)

    def record(self) -> None:
        if self._steps % GIF_EVERY == 0 and len(self.frames) < GIF_MAX_FRAMES:
            self.frames.append(self.screen.frame if self.screen is not None
                               else self.env.call("render")[0])
        self._steps += 1

    def step(self, action, info: dict) -> None:
        if self.screen is not None:
            self.screen.step(action, info)

    def close(self) -> None:
        if self.screen is not None:
            self.screen.close()


def write_gif(path: str, frames: list) -> None:
    """An animated GIF of RGB frames [H, W, 3] uint8, looping, at 15 frames per second."""
    import imageio.v2 as imageio
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    imageio.mimsave(path, frames, format="GIF", duration=1000 / 15, loop=0)


def results_record(result: EvalResult, game: Game, ckpt: checkpoint.Checkpoint | None,
                   greedy: bool, seed: int) -> dict:
    """The JSON results file's content."""
    return {
        "game": game.label,
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
        "human_normalised": human_normalised(game.rom, result.mean) if game.rom else None,
    }
