import csv
import struct

from tensorboardX.proto.event_pb2 import Event

from a3c_jax import metrics
from a3c_jax.metrics import CSV_FIELDS, RunLog

LOSSES = dict(policy_loss=1.5, value_loss=0.25, entropy=3.0, grad_norm=7.0)


def log_one_episode(run_dir):
    log = RunLog(str(run_dir), max_frames=100)
    log.episode(-20.0, 800, frames=3200, updates=10, skipped_updates=0, learning_rate=7e-4,
                losses=LOSSES)
    log.close()
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_new_run_records_every_field(tmp_path):
    (row,) = log_one_episode(tmp_path)
    assert tuple(row) == CSV_FIELDS
    assert float(row["grad_norm"]) == 7.0 and float(row["episode_return"]) == -20.0


def test_resumed_older_run_keeps_its_columns(tmp_path):
    """A run written before grad_norm existed: appended rows follow its header, not the new one."""
    old_fields = [f for f in CSV_FIELDS if f != "grad_norm"]
    with open(tmp_path / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, old_fields)
        writer.writeheader()
        writer.writerow({k: 1 for k in old_fields})
    rows = log_one_episode(tmp_path)
    assert len(rows) == 2 and list(rows[1]) == old_fields
    assert None not in rows[1] and float(rows[1]["value_loss"]) == 0.25  # no column shifted


def tensorboard_points(run_dir, tag) -> list[tuple[int, float]]:
    """(step, value) of every `tag` scalar in the run's TensorBoard event file (TFRecord framing:
    length u64, its CRC u32, the Event, its CRC u32)."""
    (path,) = run_dir.glob("events.out.tfevents*")
    data, points, at = path.read_bytes(), [], 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at:at + 8])
        event = Event.FromString(data[at + 12:at + 12 + length])
        points += [(event.step, v.simple_value) for v in event.summary.value if v.tag == tag]
        at += 16 + length
    return points


def log_episodes(run_dir, returns):
    log = RunLog(str(run_dir), max_frames=10**6)
    for i, episode_return in enumerate(returns):
        log.episode(episode_return, 7, frames=28 * (i + 1), updates=i, skipped_updates=0,
                    learning_rate=7e-4, losses=LOSSES)
    log.close()


def test_tensorboard_gets_the_mean_of_the_episodes_since_its_last_point(tmp_path):
    log_episodes(tmp_path, range(100))  # well within a second: one point, written at close
    assert tensorboard_points(tmp_path, "episode_return") == [(2800, 49.5)]
    assert tensorboard_points(tmp_path, "grad_norm") == [(2800, 7.0)]
    with open(tmp_path / "metrics.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 100  # the CSV keeps every episode


def test_tensorboard_gets_every_episode_when_they_end_slower_than_its_interval(tmp_path, monkeypatch):
    monkeypatch.setattr(metrics, "TENSORBOARD_EVERY_SECONDS", 0.0)
    log_episodes(tmp_path, [-21.0, -20.0, -19.0])
    assert tensorboard_points(tmp_path, "episode_return") == [(28, -21.0), (56, -20.0), (84, -19.0)]
