"""Evaluation: whole games under the DQN/A3C protocol with a checkpoint, or the random agent.

    python -m a3c_jax.evaluate --game Pong --load_file checkpoints/Pong_1000000 --episodes 30
"""
import argparse
import json
import os
import sys
from dataclasses import dataclass, field

import jax
import numpy as np
from flax import serialization

from a3c_jax import checkpoint
from a3c_jax.envs import UnknownGameError, atari_rom_id, check_game, game_label, make_env
from a3c_jax.networks import make_networks
from a3c_jax.scores import human_normalised

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
                                 ckpt.config.arch, ckpt.config.lstm_size)
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a3c_jax.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", help="game to play (default: the checkpoint's)")
    parser.add_argument("--load-file", "--load_file", dest="load_file",
                        help="checkpoint to play; without it the random agent plays")
    parser.add_argument("--episodes", type=int, default=30, help="whole games to play (default: 30)")
    parser.add_argument("--seed", type=int, default=0, help="episode i is seeded with seed + i")
    parser.add_argument("--greedy", action="store_true",
                        help="take the most probable action instead of sampling")
    parser.add_argument("--results", help="write a JSON results file here")
    parser.add_argument("--gif", help="record the first episode as an animated GIF here")
    parser.add_argument("--sticky-actions", "--sticky_actions", dest="sticky_actions",
                        action="store_true", help="repeat the last action with probability 0.25")
    args = parser.parse_args(argv)
    try:
        if args.episodes < 1:
            raise ValueError(f"--episodes {args.episodes} is invalid: play at least 1 episode")
        if args.game is None and args.load_file is None:
            raise ValueError("no game to play: pass --game NAME or --load_file CHECKPOINT")
        for path in (args.results, args.gif):
            if path is not None:
                _check_writable(path)
        ckpt = checkpoint.load(args.load_file) if args.load_file else None
        game = args.game or ckpt.config.game
        result = evaluate(args.load_file, game, args.episodes, seed=args.seed, greedy=args.greedy,
                          gif_path=args.gif, sticky_actions=args.sticky_actions)
    except (ValueError, UnknownGameError, checkpoint.CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    record = results_record(result, game, ckpt, args.greedy, args.seed)
    print(f"{record['game']} | {record['agent']} agent | {record['frames_trained']} frames trained")
    print(f"{'episode':>7} {'score':>9} {'length':>7}")
    for i, (score, length) in enumerate(zip(result.returns, result.lengths)):
        print(f"{i:>7} {score:>9.1f} {length:>7}")
    normalised = record["human_normalised"]
    print(f"mean {result.mean:.2f} std {result.std:.2f} min {result.min:.1f} max {result.max:.1f}"
          + (f" | human-normalised {100 * normalised:.1f}%" if normalised is not None else ""))
    if args.results:
        with open(args.results, "w") as f:
            json.dump(record, f, indent=2)
        print(f"results: {args.results}")
    if args.gif:
        print(f"gif: {args.gif}")
    return 0


def _check_writable(path: str) -> None:
    """Creates the parent folder and fails early, before any game is played, if it cannot be written."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create folder {parent!r} for {path!r} ({error.strerror}): "
                         f"pass a writable path") from None
    if not os.access(parent, os.W_OK):
        raise ValueError(f"folder {parent!r} is not writable: pass a writable path for {path!r}")


if __name__ == "__main__":
    sys.exit(main())
