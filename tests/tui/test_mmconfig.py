"""MMEngine dumped configs: the literal subset is read with ast (nothing runs), the schedule becomes an
epam scheduler whose expected_lr matches what MMEngine logs, and a foreign work_dir gets the overlay."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from epam.schedule import expected_lr
from epam_tui.core import mmconfig
from epam_tui.core.registry import load_run

POSEC3D = """
default_scope = 'mmaction'
model = dict(type='Recognizer3D', backbone=dict(type='ResNet3dSlowOnly', depth=50, in_channels=17,
             base_channels=32, num_stages=3, out_indices=(2, ), stage_blocks=(4, 6, 3), conv1_stride_s=1,
             pool1_stride_s=1, inflate=(0, 1, 1), spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 2)),
             cls_head=dict(type='I3DHead', in_channels=512, num_classes=60, dropout_ratio=0.5))
left_kp = [1, 3, 5, 7, 9, 11, 13, 15]
train_pipeline = [dict(type='UniformSampleFrames', clip_len=48), dict(type='PoseDecode'),
                  dict(type='Flip', flip_ratio=0.5, left_kp=left_kp), dict(type='PackActionInputs')]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=24, val_begin=1, val_interval=1)
base_lr = 0.2 * 8 / 8
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=0, T_max=24, by_epoch=True, convert_to_iter_based=True)
]
optim_wrapper = dict(optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=0.0003, nesterov=True),
                     clip_grad=dict(max_norm=40, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=128)
something = __import__('os').system('echo pwned')
"""


def test_reads_literals_and_dicts_without_executing(tmp_path: Path) -> None:
    path = tmp_path / "cfg.py"
    path.write_text(POSEC3D)
    cfg = mmconfig.read_py_config(path)
    assert cfg["optim_wrapper"]["optimizer"]["lr"] == 0.2 and cfg["train_cfg"]["max_epochs"] == 24
    assert cfg["train_pipeline"][2]["left_kp"] == [1, 3, 5, 7, 9, 11, 13, 15]
    assert cfg["model"]["backbone"]["out_indices"] == (2,)
    assert "something" not in cfg  # a call other than dict(...) is not evaluated, let alone run
    assert mmconfig.read_py_config(tmp_path / "missing.py") == {}
    (tmp_path / "bad.py").write_text("x = (\n")
    assert mmconfig.read_py_config(tmp_path / "bad.py") == {}


@pytest.mark.parametrize("schedule,checks", [
    # cosine stepped every iteration (convert_to_iter_based): lr(t) = 0.2 * (1 + cos(pi t / (24 * ipe))) / 2
    ("[dict(type='CosineAnnealingLR', eta_min=0, T_max=24, by_epoch=True, convert_to_iter_based=True)]",
     [(0, 0.2), (12 * 10, 0.1), (24 * 10 - 1, 0.2 * (1 + math.cos(math.pi * 239 / 240)) / 2)]),
    # warmup then cosine, per epoch: epochs 0-4 linear 0.1 -> 1 (MMEngine's LinearLR), then cosine over 19
    ("[dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5),"
     " dict(type='CosineAnnealingLR', T_max=19, eta_min=1e-6, by_epoch=True, begin=5, end=24)]",
     [(0, 0.02), (10 * 2, 0.2 * (0.1 + 0.9 * 2 / 5)), (10 * 5, 0.2), (10 * 23, 1e-6 + (0.2 - 1e-6) * (1 + math.cos(math.pi * 18 / 19)) / 2)]),
    # the baseline's MultiStepLR
    ("dict(type='MultiStepLR', by_epoch=True, milestones=[10, 20], gamma=0.1)",
     [(10 * 9, 0.2), (10 * 10, 0.02), (10 * 23, 0.002)]),
])
def test_schedules_become_expected_lr(tmp_path: Path, schedule: str, checks: list) -> None:
    path = tmp_path / "cfg.py"
    path.write_text(POSEC3D.replace(
        "param_scheduler = [\n    dict(type='CosineAnnealingLR', eta_min=0, T_max=24, by_epoch=True, convert_to_iter_based=True)\n]",
        f"param_scheduler = {schedule}"))
    cfg = mmconfig.to_epam_config(mmconfig.read_py_config(path))
    assert cfg is not None and cfg["train"]["max_epochs"] == 24
    for iteration, lr in checks:  # 10 iterations per epoch
        assert expected_lr(cfg, iteration, 10) == pytest.approx(lr, rel=1e-9, abs=1e-12), iteration


@pytest.mark.parametrize("schedule", [
    "[dict(type='PolyLR', power=0.9, by_epoch=True)]",  # a type we do not reproduce
    "[dict(type='LinearLR', by_epoch=False, begin=0, end=500), dict(type='CosineAnnealingLR', by_epoch=True)]",
    "[dict(type='LinearLR', begin=0, end=8), dict(type='CosineAnnealingLR', begin=5, end=24)]",  # overlap
    # a warm-up of 2.5 epochs (Video Swin's recipe): whole epochs only, so no overlay rather than a shifted one
    "[dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2.5, convert_to_iter_based=True),"
    " dict(type='CosineAnnealingLR', T_max=21.5, by_epoch=True, begin=2.5, end=24, convert_to_iter_based=True)]",
])
def test_unreproducible_schedules_give_no_overlay(tmp_path: Path, schedule: str) -> None:
    path = tmp_path / "cfg.py"
    path.write_text(POSEC3D.replace("param_scheduler = [", f"param_scheduler = {schedule}\n_old = [", 1))
    assert mmconfig.to_epam_config(mmconfig.read_py_config(path)) is None


def test_foreign_work_dir_gets_the_schedule_and_the_check(tmp_path: Path) -> None:
    """An MMEngine work_dir with a dumped config and vis_data/scalars.json: the run's config is the
    translated schedule, and the lr it logged matches expected_lr (the checklist's LR item passes)."""
    from epam_tui.core.checks import check_lr_schedule

    work = tmp_path / "posec3d"
    ts = work / "20261125_010203"
    (ts / "vis_data").mkdir(parents=True)
    (work / "slowonly_r50_ntu60.py").write_text(POSEC3D)
    ipe = 10
    cfg = mmconfig.to_epam_config(mmconfig.read_py_config(work / "slowonly_r50_ntu60.py"))
    with open(ts / "vis_data" / "scalars.json", "w") as fh:
        for it in range(0, 24 * ipe, 5):
            fh.write(json.dumps({"lr": expected_lr(cfg, it, ipe), "loss": 4.0 - it / 100, "epoch": it // ipe + 1,
                                 "iter": it + 1, "step": it + 1}) + "\n")
    run = load_run(work)
    assert run.kind == "mmengine" and run.config["scheduler"]["type"] == "CosineAnnealingLR"
    assert run.config["scheduler"]["by_epoch"] is False and run.max_epochs == 24
    train = run.store.columns(("lr",))
    assert check_lr_schedule(run.config, train["step"], train["lr"], ipe).verdict == "pass"
    wrong = train["lr"] * 1.05
    assert check_lr_schedule(run.config, train["step"], wrong, ipe).verdict == "fail"


# ------------------------------------------------------------------ hostile dumped configs (issue 19)


def _read(tmp_path: Path, source: str) -> dict:
    path = tmp_path / "hostile.py"
    path.write_text(source)
    return mmconfig.read_py_config(path)


def test_chained_powers_are_bounded_as_a_whole(tmp_path: Path) -> None:
    """Each power is <= 64, but the chain builds 10**(64**5): the size budget refuses the step that
    would pass MAX_INT_BITS before computing it; later variables are still read."""
    env = _read(tmp_path, "a = 10\nb = a ** 64\nc = b ** 64\nd = c ** 64\ne = d ** 64\nf = e ** 64\nafter = 0.1\n")
    assert env["a"] == 10 and env["b"] == 10 ** 64 and env["after"] == 0.1
    assert not {"c", "d", "e", "f"} & set(env)


def test_chained_products_are_bounded(tmp_path: Path) -> None:
    lines = ["a0 = 2"] + [f"a{i} = a{i - 1} * a{i - 1}" for i in range(1, 40)] + ["after = 1"]
    env = _read(tmp_path, "\n".join(lines) + "\n")
    assert env["a5"] == 2 ** 32 and env["after"] == 1
    assert "a13" not in env and "a39" not in env  # 2**4096 and beyond
    assert all(v.bit_length() <= mmconfig.MAX_INT_BITS for v in env.values())


def test_one_budget_for_the_whole_file(tmp_path: Path) -> None:
    """Cheap statements add up: evaluation stops once the file has used MAX_NODES steps."""
    per = 1000
    count = mmconfig.MAX_NODES // per + 20
    env = _read(tmp_path, "".join(f"x{i} = [{', '.join(['1'] * per)}]\n" for i in range(count)))
    assert "x0" in env and f"x{count - 1}" not in env
    assert len(env) <= mmconfig.MAX_NODES // per


def test_odd_arithmetic_is_left_out(tmp_path: Path) -> None:
    env = _read(tmp_path, "c = (-8) ** 0.5\nw = 2 ** -(10 ** 1000)\nv = 1.5 ** 10 ** 1000\nz = 1 / 0\nok = 3\n")
    assert env == {"ok": 3}


@pytest.mark.parametrize("assign", ["lr=1e999", "lr=float('nan')", "lr=1e308 * 10"])
def test_non_finite_lr_gives_no_overlay(tmp_path: Path, assign: str) -> None:
    path = tmp_path / "cfg.py"
    path.write_text(POSEC3D.replace("lr=base_lr", assign))
    assert mmconfig.to_epam_config(mmconfig.read_py_config(path)) is None


def test_absurd_epochs_give_no_overlay(tmp_path: Path) -> None:
    path = tmp_path / "cfg.py"
    path.write_text(POSEC3D.replace("max_epochs=24", "max_epochs=10**29"))
    assert mmconfig.to_epam_config(mmconfig.read_py_config(path)) is None
