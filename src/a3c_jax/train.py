"""The training command: `python -m a3c_jax.train --game Pong [--arch lstm] [--resume]`.

Every A3CConfig field is a flag (`--num-workers` or `--num_workers`); --preset picks the
settings the flags start from. The seed projects' `--training`, `--load_file` and
`--a3c_lstm` still work.
"""
import os
import signal
import sys

from a3c_jax import checkpoint, cli
from a3c_jax.config import ConfigError
from a3c_jax.envs import UnknownGameError, resolve_game
from a3c_jax.paths import UnwritablePathError
from a3c_jax.record import RecordError
from a3c_jax.replay import Replay
from a3c_jax.training_run import train
from a3c_jax.training_setup import WorkerFailed

def main(argv=None) -> int:
    command = cli.parse_train_command(argv, description=__doc__)
    if command.replay is not None:
        return replay_run(command.replay, command.until)
    if command.until is not None:
        cli.exit_with_error("--until needs --replay RUN_DIR: it stops a replay at that update")
    config = command.config
    try:
        game = resolve_game(config.game)
        resume_from = None
        if command.resume:
            resume_from = checkpoint.load_latest(config.checkpoint_dir, game.label)
            if resume_from is None:
                raise checkpoint.CheckpointError(
                    f"--resume found no complete {game.label} checkpoint in "
                    f"{config.checkpoint_dir!r}: train without --resume first, or pass --checkpoint-dir")
        elif command.load_file is not None:
            resume_from = checkpoint.load(command.load_file)  # fails here, before any work
        log_dir = command.log_dir or os.path.join(
            config.run_dir, f"{game.label}_{config.arch}_seed{config.seed}")
    except (ConfigError, UnknownGameError, checkpoint.CheckpointError) as error:
        cli.exit_with_error(str(error))
    print("config:", config.as_used(), flush=True)
    signal.signal(signal.SIGINT, _stop_gracefully)
    signal.signal(signal.SIGTERM, _stop_gracefully)
    try:
        result = train(config, resume_from=resume_from, log_dir=log_dir)
    except (ConfigError, checkpoint.CheckpointError, UnwritablePathError, RecordError) as error:
        cli.exit_with_error(str(error))
    except WorkerFailed as error:
        cli.exit_with_error(str(error), code=1)
    print(f"{'interrupted' if result.interrupted else 'finished'} at {result.frames} frames; "
          f"checkpoint: {result.checkpoint}; metrics: {log_dir}", flush=True)
    return 0


def replay_run(run_dir: str, until: int | None) -> int:
    """Replays a recorded run, reporting each checkpoint's match with the run's; exit 0 when all match."""
    replay = None
    try:
        replay = Replay(run_dir)
        update = replay.run(until)
    except (RecordError, ConfigError, UnknownGameError, checkpoint.CheckpointError) as error:
        cli.exit_with_error(str(error))
    finally:
        if replay is not None:
            replay.close()
    for match in replay.checkpoints:
        verdict = {True: "identical to the run's", None: "(the run's was deleted: only the newest are kept)"}
        print(f"checkpoint {match.name}: {verdict[match.identical]}", flush=True)
    print(f"replayed {replay.position} record entries to update {update.number if update else 0}"
          f" ({replay.checkpoint_dir})", flush=True)
    if until is not None and update is not None:
        print(f"update {update.number}: worker {update.worker}, gradients from params version "
              f"{update.read_at}, " + ", ".join(f"{k} {float(v):.6g}" for k, v in update.metrics.items())
              + " (a3c_jax.Replay gives its params, trajectory and gradients)", flush=True)
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
