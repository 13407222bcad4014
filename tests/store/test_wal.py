"""The write-ahead log check: a crash image opens with every committed run; a torn last
frame (a crash in the middle of a write) is not damage. (Damage itself: tests/chaos.)"""

from __future__ import annotations

import crystallize.store

from .conftest import crash_image, flip_byte


def test_an_undamaged_crash_image_opens_with_every_committed_run(store_path, log_dir, tmp_path):
    image = crash_image(store_path, log_dir, tmp_path)
    (info,) = crystallize.store.open(image).experiment_runs()
    assert info.runs_done == 80


def test_a_torn_last_frame_is_a_crash_mid_write_not_damage(store_path, log_dir, tmp_path):
    image = crash_image(store_path, log_dir, tmp_path)
    wal = image / "store.db-wal"
    flip_byte(wal, wal.stat().st_size - 10)  # the last transaction was being written when the process died
    (info,) = crystallize.store.open(image).experiment_runs()
    assert info.runs_done < 80
