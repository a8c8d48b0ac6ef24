import csv

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
