"""`epam-tui checklist` on a run whose config.yaml is a FIFO, a link to /dev/zero or a dangling link: the
config item says what the file is (and nothing blocks on the FIFO), not "no config.yaml in the run
directory"."""

from __future__ import annotations

import json
import os

import pytest

from epam_tui.commands import checklist as cmd


@pytest.mark.parametrize("kind, want", [
    ("fifo", "config.yaml is not a regular file (FIFO)"),
    ("zero", "config.yaml is not a regular file (character device)"),
    ("dangling", "config.yaml links to a missing file"),
])
def test_config_item_names_what_config_yaml_is(tmp_path, capsys, kind, want):
    run = tmp_path / kind
    run.mkdir()
    (run / "status.json").write_text(json.dumps({"state": "finished", "epoch": 1}))
    (run / "scalars.jsonl").write_text("")
    config = run / "config.yaml"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "zero":
        config.symlink_to("/dev/zero")
    else:
        config.symlink_to(tmp_path / "gone.yaml")
    assert cmd.main([str(run), "--json"]) == 1  # the config item fails
    out = json.loads(capsys.readouterr().out)
    item = next(i for i in out["items"] if i["id"] == "config")
    assert want in item["evidence"] and "no config.yaml" not in item["evidence"], item
