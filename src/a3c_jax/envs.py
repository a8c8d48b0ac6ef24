"""Environments: game names, the paper's Atari protocol (one definition for training and
evaluation), plain gymnasium envs, and CueMemory.

Every env made here is a vector env that reports whole-game scores the same way:
info["final_info"]["episode"] holds the unclipped score and length of each finished game.
"""
import difflib
import functools
import os
import re
from dataclasses import dataclass

import ale_py
import gymnasium as gym
import numpy as np
from ale_py.vector_env import AtariVectorEnv

ATARI_FRAME_SKIP = 4
ATARI_NOOP_MAX = 30

ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on stderr for every env


class UnknownGameError(ValueError):
    """A game name that is neither an ALE ROM nor a registered gymnasium id."""


class CueMemory(gym.Env):
    """A memory task: a cue seen only on the first step decides which action pays at the last.

    Observation [1 + length] float32: the cue (+1 or -1) at step 0 and 0 afterwards,
    followed by a one-hot of the step index. Two actions. At the last step, the action
    matching the cue (1 for +1, 0 for -1) earns +1 and the other -1; every other step
    earns 0. A memoryless policy can do no better than chance (mean return 0, 50% success);
    one that remembers the cue scores +1 every episode.
    """

    def __init__(self, length: int = 6):
        if length < 2:
            raise ValueError(f"length={length} is invalid: CueMemory needs length >= 2")
        self.length = length
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1 + length,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._t = 0
        self._cue = 1.0

    def _obs(self):
        obs = np.zeros(1 + self.length, np.float32)
        obs[0] = self._cue if self._t == 0 else 0.0
        obs[1 + self._t] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._cue = float(self.np_random.choice([-1.0, 1.0]))
        return self._obs(), {}

    def step(self, action):
        if self._t < self.length - 1:
            self._t += 1
            return self._obs(), 0.0, False, False, {}
        success = int(action) == int(self._cue > 0)
        return self._obs(), 1.0 if success else -1.0, True, False, {"success": success}


gym.register(id="a3c_jax/CueMemory-v0", entry_point=CueMemory)


@functools.lru_cache(maxsize=1)
def _roms_by_key() -> dict[str, str]:
    """ALE ROM ids by their spelling without underscores (`spaceinvaders` -> `space_invaders`)."""
    return {rom.replace("_", ""): rom for rom in ale_py.roms.get_all_rom_ids()}


def _rom_id(name: str) -> str | None:
    """`Pong`, `pong`, `PongNoFrameskip-v4`, `ALE/Pong-v5`, `space_invaders` -> ALE ROM id, or None."""
    base = name.split("/")[-1]
    base = re.sub(r"-v\d+$", "", base)
    base = re.sub(r"(NoFrameskip|Deterministic)$", "", base)
    return _roms_by_key().get(base.replace("_", "").replace("-", "").lower())


@dataclass(frozen=True)
class Game:
    """A game name resolved once: what to make, and what checkpoints and runs call it."""

    name: str  # as the user spelt it
    rom: str | None  # ALE ROM id (`space_invaders`); None for a gymnasium id or a caller's own env
    label: str  # `Pong` for every spelling of an ALE game, else the name with `/` as `-`

    @property
    def is_atari(self) -> bool:
        return self.rom is not None

    @property
    def frames_per_step(self) -> int:
        """Emulator frames per agent step: the action repeat on Atari, 1 elsewhere."""
        return ATARI_FRAME_SKIP if self.is_atari else 1


def resolve_game(name: str, *, own_env: bool = False) -> Game:
    """The Game for a name: an ALE game in any spelling users know, or a gymnasium id.

    own_env: the caller makes the envs (an env_fn), so the name only labels the checkpoints.
    Otherwise an unknown name raises UnknownGameError naming the closest ALE games.
    """
    rom = _rom_id(name)
    label = "".join(part.capitalize() for part in rom.split("_")) if rom else name.replace("/", "-")
    if own_env:
        return Game(name, None, label)
    if rom is None and name not in gym.registry:
        raise _unknown_game(name)
    return Game(name, rom, label)


def _unknown_game(name: str) -> UnknownGameError:
    key = name.split("/")[-1].lower()
    key = re.sub(r"(noframeskip|deterministic)?(-v\d+)?$", "", key)
    by_key = _roms_by_key() | {rom: rom for rom in _roms_by_key().values()}
    close = [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=5, cutoff=0.5)]
    close = list(dict.fromkeys(close))[:3]
    hint = f"closest ALE games: {', '.join(close)}" if close else \
        "see ale_py.roms.get_all_rom_ids() for the ALE games"
    return UnknownGameError(
        f"unknown game {name!r}: {hint} (a registered gymnasium id such as CartPole-v1 also works)")


def available_cpus() -> int:
    """CPUs this process may use: A3C_JAX_CPUS where a Ray actor was given a share, else all."""
    return int(os.environ.get("A3C_JAX_CPUS", 0)) or os.cpu_count() or 1


def atari_vector_env(rom: str, num_envs: int, *, sticky_actions: bool = False, frame_stack: int = 4,
                     max_episode_frames: int = 108_000, colour_screen: bool = False) -> AtariVectorEnv:
    """The paper's Atari protocol on ale-py's C++ vector env: its one definition.

    Each agent step repeats the action for 4 emulator frames; an observation
    [frame_stack, 84, 84] uint8 stacks the last frame_stack grey frames, each the max of its
    step's last two emulator frames, with zeros before a game's first. A game starts with a
    random number of no-op frames (fewer than 30), then FIRE where the game needs it. A lost
    life is reported as `terminated` while the game goes on; a finished game is reset within
    the same step.
    The emulator and the preprocessing run in C++ threads without the GIL.

    colour_screen: the same games as RGB [1, 210, 160, 3] screens (no pooling), for GIFs.
    """
    screen = dict(grayscale=False, img_height=210, img_width=160, stack_num=1, maxpool=False)
    return AtariVectorEnv(
        rom, num_envs, num_threads=min(num_envs, available_cpus()),
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP, life_loss_info=True,
        reward_clipping=False, noop_max=ATARI_NOOP_MAX, use_fire_reset=True,
        frameskip=ATARI_FRAME_SKIP, repeat_action_probability=0.25 if sticky_actions else 0.0,
        max_num_frames_per_episode=max_episode_frames,
        **(screen if colour_screen else dict(stack_num=frame_stack)))


class AtariGames(gym.vector.VectorWrapper):
    """B Atari games under the paper's protocol (atari_vector_env): [B, frame_stack, 84, 84] uint8.

    Training and evaluation see the same observations; they differ only in what an episode
    and a reward are (DeepMind's protocol):
      training:   rewards clipped to [-1, 1]; a lost life ends the episode, the game goes on;
      evaluation: raw rewards; the episode is the whole game.
    Both report info["life_lost"] [B] bool and, for each finished game, its unclipped score
    and length the way gymnasium's vector envs report RecordEpisodeStatistics:
    info["final_info"]["episode"]["r" / "l"] where info["final_info"]["_episode"].
    """

    def __init__(self, game: Game, num_envs: int, *, training: bool, sticky_actions: bool = False,
                 frame_stack: int = 4, max_episode_frames: int = 108_000):
        super().__init__(atari_vector_env(game.rom, num_envs, sticky_actions=sticky_actions,
                                          frame_stack=frame_stack,
                                          max_episode_frames=max_episode_frames))
        self.training = training
        self._lives = np.zeros(num_envs, np.int64)
        self._score = np.zeros(num_envs, np.float64)
        self._length = np.zeros(num_envs, np.int64)

    def reset(self, *, seed=None, options=None):
        """seed: an int (env i gets seed + i) or the list [seed, seed + 1, ...]."""
        if isinstance(seed, (list, tuple)):
            if list(seed) != list(range(seed[0], seed[0] + len(seed))):
                raise ValueError(f"seeds {seed} are not consecutive: pass an int or [s, s + 1, ...]")
            seed = int(seed[0])
        obs, info = self.env.reset(seed=seed, options=options)
        self._lives[:] = info["lives"]
        self._score[:], self._length[:] = 0.0, 0
        return obs, info

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self._score += reward
        self._length += 1
        lives = info["lives"]  # after an autoreset: the new game's lives
        life_lost = terminated & (lives > 0) & (lives < self._lives)
        game_over = (terminated | truncated) & ~life_lost
        if game_over.any():
            info["final_info"] = {"episode": {"r": self._score.copy(), "l": self._length.copy()},
                                  "_episode": game_over}
            self._score[game_over], self._length[game_over] = 0.0, 0
        self._lives[:] = lives
        info["life_lost"] = life_lost
        if self.training:
            return obs, np.clip(reward, -1.0, 1.0).astype(np.float32), terminated, truncated, info
        return obs, reward.astype(np.float32), terminated & ~life_lost, truncated, info


class AtariScreen:
    """The colour screen of one Atari game, for GIFs: a second emulator fed the same seed and
    actions as the game being played, whose observations alone the agent sees."""

    def __init__(self, game: Game, *, sticky_actions: bool = False, max_episode_frames: int = 108_000):
        self._env = atari_vector_env(game.rom, 1, sticky_actions=sticky_actions,
                                     max_episode_frames=max_episode_frames, colour_screen=True)
        self.frame = None  # [210, 160, 3] uint8: the screen now

    def reset(self, seed: int) -> None:
        obs, _ = self._env.reset(seed=seed)
        self.frame = obs[0, -1]

    def step(self, actions, played_info: dict) -> None:
        """Follows one step of the played game; played_info is that step's info."""
        obs, _, _, _, info = self._env.step(np.asarray(actions))
        for key in ("episode_frame_number", "lives"):
            if info[key][0] != played_info[key][0]:
                raise RuntimeError(f"the GIF's emulator left the played game ({key} "
                                   f"{info[key][0]} != {played_info[key][0]})")
        self.frame = obs[0, -1]

    def close(self) -> None:
        self._env.close()


def agent_reset(terminated, truncated, info) -> np.ndarray:
    """[B] bool: where the agent's memory (the LSTM state) starts afresh after a step: an
    episode ended or, on Atari, a life was lost. Training and evaluation both use this rule,
    so an agent is evaluated with the resets it was trained with."""
    return np.asarray(terminated | truncated | info.get("life_lost", False), bool)


def make_envs(game: Game, seeds: list[int], *, training: bool, env_fn=None,
              sticky_actions: bool = False, frame_stack: int = 4,
              max_episode_frames: int = 108_000, render: bool = False) -> gym.vector.VectorEnv:
    """len(seeds) envs of `game` stepped as one batch, each reset within the step that ends
    it: what training and evaluation both play. Reset them with the same seeds.

    Atari games: AtariGames (`training` picks its episodes and rewards, frame_stack the
    frames in an observation). Other games:
    gymnasium.make(game.name), or env_fn(seed) for each seed, under RecordEpisodeStatistics;
    render: their env.render() gives RGB frames (for GIFs).
    """
    if env_fn is None and game.is_atari:
        return AtariGames(game, len(seeds), training=training, sticky_actions=sticky_actions,
                          frame_stack=frame_stack, max_episode_frames=max_episode_frames)

    def make(seed):
        if env_fn is not None:
            env = env_fn(seed)
        else:
            env = gym.make(game.name, **({"render_mode": "rgb_array"} if render else {}))
        return env if _has_episode_statistics(env) else gym.wrappers.RecordEpisodeStatistics(env)

    return gym.vector.SyncVectorEnv([functools.partial(make, seed) for seed in seeds],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def _has_episode_statistics(env: gym.Env) -> bool:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.RecordEpisodeStatistics):
            return True
        env = env.env
    return False
