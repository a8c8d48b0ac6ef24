"""The training command: `python -m a3c_jax.train --game Pong [--arch lstm] [--resume]`.

Every A3CConfig field is a flag; the seed projects' `--training`, `--load_file` and
`--a3c_lstm` still work.
"""
import argparse
import ast
import dataclasses
import inspect
import os
import signal
import sys

from a3c_jax import checkpoint
from a3c_jax.config import A3CConfig, ConfigError
from a3c_jax.envs import UnknownGameError, check_game, game_label
from a3c_jax.paths import UnwritablePathError
from a3c_jax.training_run import WorkerFailed, train


def field_docs(cls) -> dict:
    """The docstring under each dataclass field, read from the source: the CLI's help text."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)):
            docs[node.target.id] = following.value.value.replace("%", "%%")  # argparse formats help
    return docs


def build_parser() -> argparse.ArgumentParser:
    """One flag per A3CConfig field (`--num-workers`, also `--num_workers`), plus the seed-era flags."""
    parser = argparse.ArgumentParser(prog="python -m a3c_jax.train", description=__doc__)
    docs = field_docs(A3CConfig)
    for field in dataclasses.fields(A3CConfig):
        flags = dict.fromkeys([f"--{field.name.replace('_', '-')}", f"--{field.name}"])
        if field.type in (bool, "bool"):
            parser.add_argument(*flags, dest=field.name, action=argparse.BooleanOptionalAction,
                                default=field.default, help=docs.get(field.name))
        else:
            parser.add_argument(*flags, dest=field.name, type=type(field.default),
                                default=field.default, metavar=field.name.upper(),
                                help=f"{docs.get(field.name, '')} (default: {field.default})")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint of this game in --checkpoint-dir")
    parser.add_argument("--load-file", "--load_file", dest="load_file",
                        help="continue from this checkpoint (the seed's --load_file)")
    parser.add_argument("--training", action="store_true",
                        help="accepted for the seed's command lines; training is what this command does")
    parser.add_argument("--a3c-lstm", "--a3c_lstm", dest="a3c_lstm", action="store_true",
                        help="same as --arch lstm (the seed's flag)")
    parser.add_argument("--log-dir", "--log_dir", dest="log_dir",
                        help="metrics folder (default: <run-dir>/<Game>_<arch>_seed<seed>)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(A3CConfig)}
    if args.a3c_lstm:
        values["arch"] = "lstm"
    try:
        config = A3CConfig(**values)
        check_game(config.game)
        label = game_label(config.game)
        resume_from = args.load_file
        if args.resume:
            resume_from = checkpoint.latest(config.checkpoint_dir, label)  # loads it to check it
            if resume_from is None:
                raise checkpoint.CheckpointError(
                    f"--resume found no complete {label} checkpoint in {config.checkpoint_dir!r}: "
                    f"train without --resume first, or pass --checkpoint-dir")
        elif resume_from is not None:
            checkpoint.load(resume_from)  # a missing or broken file fails here, before any work
        log_dir = args.log_dir or os.path.join(config.run_dir, f"{label}_{config.arch}_seed{config.seed}")
    except (ConfigError, UnknownGameError, checkpoint.CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("config:", config.to_dict(), flush=True)
    signal.signal(signal.SIGINT, _stop_gracefully)
    signal.signal(signal.SIGTERM, _stop_gracefully)
    try:
        result = train(config, resume_from=resume_from, log_dir=log_dir)
    except (ConfigError, checkpoint.CheckpointError, UnwritablePathError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except WorkerFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{'interrupted' if result.interrupted else 'finished'} at {result.frames} frames; "
          f"checkpoint: {result.checkpoint}; metrics: {log_dir}", flush=True)
    return 0


def _stop_gracefully(signum, frame):
    """First Ctrl-C or SIGTERM: stop the workers and write a final checkpoint. A second: exit now."""
    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGTERM, _exit_now)
    print("\nstopping: writing a final checkpoint (press Ctrl-C again to quit at once)",
          file=sys.stderr, flush=True)
    raise KeyboardInterrupt


def _exit_now(signum, frame):
    # Checkpoints are renamed into place whole, so quitting mid-write loses only the one in progress.
    os._exit(130)


if __name__ == "__main__":
    sys.exit(main())
