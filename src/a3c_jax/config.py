"""A3CConfig: every setting of a run, with the paper's defaults."""
import dataclasses
from dataclasses import dataclass

ARCHS = ("ff", "lstm")
OPTIMIZERS = ("rmsprop", "adam")
BACKENDS = ("threads", "ray")
FRAME_NORMS = ("centre", "std")
HEAD_INITS = ("zero", "scaled")
DENSE_ACTIVATIONS = ("relu", "elu")
# What learning_rate, value_coef and frame_stack are when left unset: measured per arch,
# with Adam (README: Learning speed).
ARCH_DEFAULTS = {"ff": dict(learning_rate=6e-4, value_coef=0.25, frame_stack=2),
                 "lstm": dict(learning_rate=3e-4, value_coef=0.5, frame_stack=4)}


# What checkpoints written before a field existed were trained with.
BEFORE_THE_FIELD = dict(frame_norm="centre", lr_anneal_frames=-1, head_init="zero",
                        centred_features=False, frame_stack=4, param_average=0.0,
                        dense_activation="relu")


class ConfigError(ValueError):
    """A setting outside its allowed range."""


@dataclass(frozen=True)
class A3CConfig:
    """One A3C run. Defaults are the settings measured fastest to learn (README: Learning speed);
    `A3CConfig.paper()` (`--preset paper`) gives Mnih et al. 2016's."""

    game: str = "Pong"
    """ALE game (`Pong`, `PongNoFrameskip-v4`, `ALE/Pong-v5`) or a gymnasium id (`CartPole-v1`)."""
    arch: str = "ff"
    """`ff` (A3C-FF) or `lstm` (A3C-LSTM, 256 cells after the dense layer): the paper's two agents."""
    num_workers: int = 2
    """Actor-learner threads. The paper used 16 on 16 cores; 2 matches this project's 2-core machine."""
    envs_per_worker: int = 4
    """Environments each worker steps as one batch (README: Speed); 1 is the paper's
    one-environment-per-thread A3C. 4 learnt Pong in fewer frames than 8 at the same frames/s
    (twice the updates per frame); without centred_features its Breakout torso died."""
    t_max: int = 20
    """Steps per rollout before an update (paper: 5; 20, as the PyTorch A3C, learnt Pong faster
    than 5 and scored higher at 15 minutes than 10)."""
    gamma: float = 0.99
    """Discount factor (paper: 0.99)."""
    gae_lambda: float = 1.0
    """GAE(lambda) for the advantage; 1.0 gives the paper's n-step advantage exactly (0.95 was
    the slower of both seed pairs run against it on Pong: README, Learning speed)."""
    learning_rate: float | None = None
    """Learning rate (paper: 7e-4 with RMSProp); unset, the arch's measured one
    (ARCH_DEFAULTS, `base_learning_rate`): 6e-4 for ff (faster on Pong than 1e-4 and
    3e-4, no slower than 1.2e-3), 3e-4 for lstm (at 6e-4 it solved Pong, then collapsed)."""
    lr_anneal_frames: int = 0
    """Frames over which the learning rate falls linearly to final_lr_fraction of itself: 0 keeps
    it constant (so a run's speed does not depend on its budget), -1 means max_frames (paper:
    320M frames, to 0)."""
    final_lr_fraction: float = 0.0
    """The learning rate after lr_anneal_frames, as a fraction of base_learning_rate; it stays
    there (paper: 0, the rate ends at 0 with the run)."""
    optimizer: str = "adam"
    """`adam` (shared Adam, as in the PyTorch A3C) or `rmsprop` (the paper's shared RMSProp)."""
    adam_eps: float = 1e-8
    """Shared Adam epsilon, added to the root of the second moment (1e-8, Adam's own; 1e-3 did not
    keep Breakout's torso alive: README, Learning speed)."""
    rmsprop_decay: float = 0.99
    """Shared RMSProp decay alpha (paper: 0.99)."""
    rmsprop_eps: float = 0.1
    """Shared RMSProp epsilon, added inside the square root (paper: 0.1)."""
    entropy_beta: float = 0.01
    """Entropy bonus weight (paper: 0.01; on Pong 0.005 learnt more slowly and 0.02 scored
    15.7 sampled at 15 minutes, where 0.01 scored 18.3-20.2)."""
    entropy_anneal_frames: int = 0
    """Frames over which the entropy bonus falls linearly from entropy_beta to final_entropy_beta;
    0 keeps it constant (paper). Falling to 0.0025 over 6M frames with shared RMSProp, Pong
    reached 18 in 2.5-2.8M frames, but some sampled and greedy games collapsed (README)."""
    entropy_hold_frames: int = 0
    """Frames the bonus stays at entropy_beta before it starts to fall over entropy_anneal_frames
    (held 3M then falling over 2M, Pong scored within the defaults' spread: README)."""
    final_entropy_beta: float = 0.0025
    """The entropy bonus reached after entropy_anneal_frames (unused while that is 0); falling to
    0 destabilised Pong's plateau (attempt 58: the last 50 games fell from 18.6 to 7.9)."""
    value_coef: float | None = None
    """Value-loss weight: the loss has value_coef * (R - V)^2 (paper: 0.5). Unset, the arch's
    (ARCH_DEFAULTS, `base_value_coef`): 0.25 for ff (the PyTorch A3C's 0.5 * 0.5: Pong scored
    18.3-20.2 at 15 minutes where 0.5 scored 18.7-19.6), 0.5 for lstm (measured with it)."""
    max_grad_norm: float = 40.0
    """Global gradient-norm clip before the update (40, as in the Blocks and PyTorch A3Cs)."""
    param_average: float = 0.1
    """The agent a checkpoint plays (evaluate, export) is an average of the params over about
    this fraction of the updates so far, the latest weighted most (optim.average_params); 0: the
    last params (paper). Training uses the last params either way. Against the same
    checkpoint's last params: +1.2, +1.0 and -0.4 on Pong at 15 minutes (an average of about
    this window), +6.2 on Breakout at 45 (README: Learning speed)."""
    max_frames: int = 10_000_000
    """Training budget in environment frames (4 per agent step on Atari)."""
    lstm_size: int = 256
    """LSTM cells (paper: 256)."""
    frame_norm: str = "std"
    """How image observations are scaled: `std` (each frame minus its mean, divided by its
    standard deviation: every game at one scale) or `centre` ([0, 1], minus the mean)."""
    frame_stack: int | None = None
    """Atari frames stacked in an observation [frame_stack, 84, 84] (paper: 4). Unset, the
    arch's (ARCH_DEFAULTS, `frames_per_observation`): 2 for ff (1.15x the frames/s of 4, as
    fast to learn Pong per frame), 4 for lstm (measured with it)."""
    head_init: str = "scaled"
    """Policy and value heads at initialisation: `scaled` (random, each output's weights of norm
    0.01 for the policy and 1 for the value, as the PyTorch A3C: Pong reached -15 at 2.71M
    frames where zero heads took 3.12M) or `zero`."""
    centred_features: bool = True
    """Subtract each conv feature map's mean over the image before the next layer (networks.py:
    ActorCritic.centred). Uncentred, Adam moved all of a unit's weights one way at once: Breakout's
    conv2 died within 0.5M frames and Pong took 2.7M frames to -15; centred, none of conv2
    died and Pong's last 20 games averaged 17.7 at 3M frames (README: Learning speed)."""
    dense_activation: str = "relu"
    """The image torso's dense layer: `relu` (the paper's) or `elu`. With ReLU, most dense units
    stop firing within Pong's first 0.5M frames (the early value errors push down every unit
    whose value weight is positive) and come back only as the agent starts to win points;
    ELU units keep learning. ELU brought Pong's first rise about 0.4M frames sooner in seven
    of eight runs, but not its 18, and Breakout learnt more slowly with it (README: Learning speed)."""
    sticky_actions: bool = False
    """Repeat the previous action with probability 0.25 (ALE v5). Off for fidelity to the paper."""
    max_episode_frames: int = 108_000
    """Atari episode time limit in frames (30 minutes of play; ALE's and DQN's evaluation cap)."""
    seed: int = 0
    """Seed for parameters, environments and action sampling; worker k uses seed + k."""
    checkpoint_dir: str = "checkpoints"
    """Folder for checkpoints named `<Game>_<frames>` (the Blocks A3C's convention)."""
    checkpoint_every: int = 1_000_000
    """Frames between checkpoints; a final one is always written at the end."""
    keep_checkpoints: int = 3
    """How many of the newest checkpoints to keep."""
    max_nonfinite_updates: int = 10
    """Updates in a row whose loss or gradients are not finite (each skipped) before training stops."""
    backend: str = "threads"
    """`threads` (workers in this process) or `ray` (each worker a Ray actor process, on one
    machine or a cluster: `pip install 'a3c-jax[ray]'`; README: Scale-out)."""
    ray_address: str = ""
    """With --backend ray: the cluster to join (`HOST:PORT`, or `auto`); empty starts a local one."""
    max_worker_restarts: int = 3
    """With --backend ray: how often a worker process that died is restarted before the run stops."""
    run_dir: str = "runs"
    """Folder for each run's metrics CSV and TensorBoard events (`<run_dir>/<Game>_<arch>_<seed>`)."""

    def __post_init__(self):
        def require(ok, field, allowed):
            if not ok:
                raise ConfigError(
                    f"{field}={getattr(self, field)!r} is invalid: {field} must be {allowed}")

        require(self.arch in ARCHS, "arch", " or ".join(ARCHS))
        require(self.optimizer in OPTIMIZERS, "optimizer", " or ".join(OPTIMIZERS))
        require(self.frame_norm in FRAME_NORMS, "frame_norm", " or ".join(FRAME_NORMS))
        require(self.head_init in HEAD_INITS, "head_init", " or ".join(HEAD_INITS))
        require(self.dense_activation in DENSE_ACTIVATIONS, "dense_activation",
                " or ".join(DENSE_ACTIVATIONS))
        require(self.backend in BACKENDS, "backend", " or ".join(BACKENDS))
        require(int(self.max_worker_restarts) >= 0, "max_worker_restarts", "an integer >= 0")
        require(int(self.lr_anneal_frames) >= -1, "lr_anneal_frames",
                "-1 (anneal over max_frames), 0 (constant) or a frame count")
        require(0.0 <= self.final_lr_fraction <= 1.0, "final_lr_fraction", "in [0, 1]")
        require(0.0 <= self.param_average <= 1.0, "param_average", "in [0, 1] (0: no average)")
        require(isinstance(self.game, str) and self.game != "", "game", "a non-empty game name")
        for name in ("num_workers", "envs_per_worker", "t_max", "max_frames",
                     "lstm_size", "checkpoint_every", "keep_checkpoints", "max_episode_frames",
                     "max_nonfinite_updates"):
            require(int(getattr(self, name)) >= 1, name, "an integer >= 1")
        require(0.0 < self.gamma <= 1.0, "gamma", "in (0, 1]")
        require(0.0 <= self.gae_lambda <= 1.0, "gae_lambda", "in [0, 1]")
        require(self.learning_rate is None or self.learning_rate > 0.0, "learning_rate",
                "> 0 (or unset: the arch's default)")
        require(0.0 <= self.rmsprop_decay < 1.0, "rmsprop_decay", "in [0, 1)")
        require(self.rmsprop_eps > 0.0, "rmsprop_eps", "> 0")
        require(self.adam_eps > 0.0, "adam_eps", "> 0")
        require(self.entropy_beta >= 0.0, "entropy_beta", ">= 0")
        require(int(self.entropy_anneal_frames) >= 0, "entropy_anneal_frames",
                "0 (constant) or a frame count")
        require(int(self.entropy_hold_frames) >= 0, "entropy_hold_frames", ">= 0")
        require(self.final_entropy_beta >= 0.0, "final_entropy_beta", ">= 0")
        require(self.value_coef is None or self.value_coef >= 0.0, "value_coef",
                ">= 0 (or unset: the arch's default)")
        require(self.max_grad_norm > 0.0, "max_grad_norm", "> 0")
        require(self.frame_stack is None or int(self.frame_stack) >= 1, "frame_stack",
                "an integer >= 1 (or unset: the arch's default)")

    @classmethod
    def paper(cls, **overrides) -> "A3CConfig":
        """The paper's A3C exactly: 16 one-env threads, shared RMSProp lr 7e-4, decay 0.99, eps 0.1
        inside the square root, t_max 5, the learning rate annealed to 0 over 320M frames."""
        paper = dict(num_workers=16, envs_per_worker=1, t_max=5, optimizer="rmsprop",
                     learning_rate=7e-4, rmsprop_decay=0.99, rmsprop_eps=0.1,
                     lr_anneal_frames=320_000_000, final_lr_fraction=0.0, entropy_beta=0.01,
                     entropy_anneal_frames=0, value_coef=0.5, gamma=0.99, gae_lambda=1.0,
                     frame_norm="centre", frame_stack=4, centred_features=False,
                     dense_activation="relu", param_average=0.0)
        return cls(**{**paper, **overrides})

    @property
    def base_learning_rate(self) -> float:
        """The learning rate before any annealing: learning_rate, or the arch's default."""
        return self._or_arch_default("learning_rate")

    @property
    def base_value_coef(self) -> float:
        """The value-loss weight used: value_coef, or the arch's default."""
        return self._or_arch_default("value_coef")

    @property
    def frames_per_observation(self) -> int:
        """The Atari frames stacked in an observation: frame_stack, or the arch's default."""
        return self._or_arch_default("frame_stack")

    def _or_arch_default(self, field: str):
        value = getattr(self, field)
        return ARCH_DEFAULTS[self.arch][field] if value is None else value

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def as_used(self) -> dict:
        """to_dict with the unset per-arch fields (ARCH_DEFAULTS) replaced by the values used."""
        used = {field: self._or_arch_default(field) for field in ARCH_DEFAULTS[self.arch]}
        return {**self.to_dict(), **used}

    @classmethod
    def from_dict(cls, values: dict) -> "A3CConfig":
        """Builds a config from a stored dict, ignoring keys this version no longer has; a key
        older checkpoints lack takes the value those checkpoints were trained with."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{**BEFORE_THE_FIELD, **{k: v for k, v in values.items() if k in known}})
