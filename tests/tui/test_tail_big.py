"""A backlog larger than a few read chunks comes out whole: every line, byte for byte, in order.

The hole check asks the descriptor for ``SEEK_DATA``; the buffered file object must not read from where that
left the descriptor (lines were spliced from the third 4 MiB chunk on)."""

from __future__ import annotations

from epam_tui.core import tail


def test_a_backlog_of_many_chunks_is_read_whole(tmp_path) -> None:
    path = tmp_path / "train.log"
    lines = [f"2026/11/25 01:41:42 - mmengine - INFO - Epoch(train) [1][{i}/100000]  lr: 1.0e-03  loss: {i % 97}.5\n"
             for i in range(1, 150_001)]
    data = "".join(lines).encode()
    assert len(data) > 3 * tail.CHUNK
    path.write_bytes(data)
    t = tail.Tailer(path)
    got = t.read_chunk()
    assert len(got) == len(data)
    assert got == data
    assert t.skipped == 0
