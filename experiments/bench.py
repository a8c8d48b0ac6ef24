"""Training throughput on an Atari game: `make bench` (or `python experiments/bench.py --help`).

Each repeat trains with the given config for --seconds after --warmup seconds, and
reports frames/s, where the worker threads spent their time, memory and XLA
compilations. The emulator alone is measured in the same run, so the result reads
as a fraction of what the machine can do. The last line is `frames_per_second: N`.
"""
import argparse
import dataclasses
import resource
import statistics
import tempfile
import time

import jax
import numpy as np

from a3c_jax import A3CConfig
from a3c_jax.envs import ATARI_FRAME_SKIP, atari_vector_env, resolve_game
from a3c_jax.record import UpdateRecord
from a3c_jax.training_run import prepare_run

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
compilations = 0


def count_compilation(event, duration, **kwargs):
    global compilations
    if event == COMPILE_EVENT:
        compilations += 1


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_training(config: A3CConfig, warmup: float, seconds: float) -> dict:
    """Frames/s over `seconds` after `warmup`, with each worker's time split and memory."""
    run = prepare_run(config)
    run.start()
    time.sleep(warmup)
    workers, shared = run.workers, run.shared
    frames0, lock0, compiles0 = shared.frames, shared.lock_wait_seconds, compilations
    stats0 = [dataclasses.replace(w.stats) for w in workers]  # copies
    start, rss = time.perf_counter(), [rss_mib()]
    while time.perf_counter() - start < seconds:
        time.sleep(min(1.0, seconds - (time.perf_counter() - start)))
        rss.append(rss_mib())
    wall = time.perf_counter() - start
    frames, lock, compiles = shared.frames, shared.lock_wait_seconds, compilations
    stats = [dataclasses.replace(w.stats) for w in workers]
    run.stop_and_join()
    if any(w.error for w in workers):
        raise RuntimeError(next(w.error for w in workers if w.error))

    def spent(name):  # a WorkerStats field, summed over the workers, over the measured time
        return sum(getattr(s, name) for s in stats) - sum(getattr(s, name) for s in stats0)

    staleness = spent("stale_updates") / max(spent("applied_updates"), 1)
    thread_time = wall * len(workers)
    shares = {key: spent(f"{key}_seconds") / thread_time for key in ("env", "act", "grad")}
    shares["lock"] = (lock - lock0) / thread_time
    shares["other"] = 1.0 - sum(shares.values())
    return dict(fps=(frames - frames0) / wall, shares=shares, compilations=compiles - compiles0,
                rss_start=rss[0], rss_end=rss[-1], staleness=staleness)


def emulator_fps(game: str, seconds: float, num_envs: int = 16) -> float:
    """ale-py's C++ vector env alone, random actions, on all cores: the machine's limit."""
    env = atari_vector_env(resolve_game(game).rom, num_envs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.single_action_space.n, (4096, num_envs))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(actions[steps % len(actions)])
        steps += 1
    fps = steps * num_envs * ATARI_FRAME_SKIP / (time.perf_counter() - start)
    env.close()
    return fps


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Pong")
    parser.add_argument("--num-workers", type=int, default=A3CConfig.num_workers)
    parser.add_argument("--envs-per-worker", type=int, default=A3CConfig.envs_per_worker)
    parser.add_argument("--arch", default="ff")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per repeat")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--emulator-seconds", type=float, default=5.0)
    parser.add_argument("--record-cost", action="store_true",
                        help="also train with the update record on and off in turns, and report the ratio")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="any other A3CConfig field, e.g. --set t_max=5 --set torso=paper")
    args = parser.parse_args()
    jax.monitoring.register_event_duration_secs_listener(count_compilation)
    fields = {f.name: type(f.default) for f in dataclasses.fields(A3CConfig)}
    overrides = {k: v.lower() == "true" if fields[k] is bool else fields[k](v)
                 for k, v in (item.split("=", 1) for item in args.set)}
    config = A3CConfig(**{**dict(game=args.game, arch=args.arch, num_workers=args.num_workers,
                                 envs_per_worker=args.envs_per_worker, max_frames=10**12,
                                 checkpoint_dir=tempfile.mkdtemp(prefix="a3c-bench-")),
                          **overrides})
    print("config:", {k: v for k, v in dataclasses.asdict(config).items()
                      if k not in ("checkpoint_dir", "run_dir")}, flush=True)
    limit = emulator_fps(args.game, args.emulator_seconds)
    print(f"emulator alone: {limit:,.0f} frames/s (the training protocol's AtariVectorEnv, "
          f"16 envs, all cores)", flush=True)
    runs = []
    for repeat in range(args.repeats):
        result = measure_training(config, args.warmup, args.seconds)
        runs.append(result)
        shares = " ".join(f"{k} {100 * v:.0f}%" for k, v in result["shares"].items())
        print(f"repeat {repeat + 1}: {result['fps']:,.0f} frames/s | thread time: {shares} | "
              f"staleness {result['staleness']:.2f} updates | "
              f"compilations after warm-up: {result['compilations']} | "
              f"RSS {result['rss_start']:.0f} -> {result['rss_end']:.0f} MiB", flush=True)
    fps = [r["fps"] for r in runs]
    median = statistics.median(fps)
    growth = 100 * (runs[-1]["rss_end"] / runs[-1]["rss_start"] - 1)
    print(f"frames/s median {median:,.0f} min {min(fps):,.0f} max {max(fps):,.0f} over "
          f"{len(fps)} repeats of {args.seconds:.0f} s; {100 * median / limit:.0f}% of the emulator alone")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
          f"RSS growth over the last repeat {growth:+.1f}%; "
          f"XLA compilations after warm-up: {sum(r['compilations'] for r in runs)}")
    if args.record_cost:
        on, off = record_cost(config, args.warmup, args.seconds * args.repeats)
        print(f"update record: {on:,.0f} frames/s on, {off:,.0f} off, on / off {on / off:.4f} "
              f"(one run, {args.seconds * args.repeats:.0f} s each, alternating every "
              f"{RECORD_WINDOW:.0f} s)")
    print(f"frames_per_second: {median:.0f}")


RECORD_WINDOW = 5.0


def record_cost(config: A3CConfig, warmup: float, seconds: float) -> tuple[float, float]:
    """Frames/s with the update record (record.py, written by every run with a metrics folder)
    on and off, alternating every RECORD_WINDOW seconds in one run so that drift cancels."""
    run = prepare_run(config)
    record = UpdateRecord.start(tempfile.mkdtemp(prefix="a3c-bench-record-"), config)
    run.start()
    time.sleep(warmup)
    frames, spent = {True: 0, False: 0}, {True: 0.0, False: 0.0}
    for window in range(2 * max(1, round(seconds / RECORD_WINDOW))):
        recording = window % 2 == 1
        run.shared.record = record if recording else None
        frames0, start = run.shared.frames, time.perf_counter()
        time.sleep(RECORD_WINDOW)
        frames[recording] += run.shared.frames - frames0
        spent[recording] += time.perf_counter() - start
    run.stop_and_join()
    return frames[True] / spent[True], frames[False] / spent[False]


if __name__ == "__main__":
    main()
