"""epam.yamlsafe: YAML 1.2 floats, and bounds that turn hostile YAML into one ``yaml.YAMLError`` or
``OSError`` (alias bombs, recursive aliases, deep nesting, huge integers, FIFOs, devices, big files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from epam import yamlsafe


def alias_bomb(levels: int = 9, fan: int = 10) -> str:
    """The billion laughs: each level lists the previous one ``fan`` times (10**levels leaves)."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * fan)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "value"), [
    ("1e-3", 0.001), ("1E+5", 100000.0), (".5e-2", 0.005), ("-2.5e3", -2500.0), ("+1e3", 1000.0),
    ("1.e5", 100000.0), ("-.5", -0.5), ("1e999", float("inf")),
    # YAML 1.1 forms read as before
    ("1.0e-3", 0.001), ("1.5", 1.5), ("1_000.5", 1000.5), ("190:20:30.15", 685230.15), (".inf", float("inf")),
])
def test_yaml12_floats(text: str, value: float) -> None:
    out = yamlsafe.safe_load(f"x: {text}")["x"]
    assert isinstance(out, float) and out == value


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1), ("0x1F", 31), ("1_000", 1000), ("1e", "1e"), ("e5", "e5"), (".", "."), ("1e+", "1e+"),
    ("3e", "3e"), ("v1.2e3", "v1.2e3"), ("12:30", 750), ("true", True), ("null", None),
])
def test_other_scalars_unchanged(text: str, value: object) -> None:
    out = yamlsafe.safe_load(f"x: {text}")["x"]
    assert out == value and type(out) is type(value)
    assert out == yaml.safe_load(f"x: {text}")["x"]


def test_nan_is_a_float() -> None:
    out = yamlsafe.safe_load("x: .nan")["x"]
    assert isinstance(out, float) and out != out


def test_same_as_safe_load_on_the_shipped_configs() -> None:
    """Every config in configs/ reads the same as with yaml.safe_load, except YAML 1.2 floats."""
    root = Path(__file__).resolve().parents[1] / "configs"
    paths = sorted(root.rglob("*.yaml"))
    assert paths
    for path in paths:
        text = path.read_text()
        if "e-" not in text.replace("1.0e-", ""):
            assert yamlsafe.safe_load(text) == yaml.safe_load(text), path


def test_merge_keys_and_small_aliases_still_work() -> None:
    assert yamlsafe.safe_load("a: &x {b: 1}\nc: {<<: *x, d: 2}\ne: [*x, *x]") == {
        "a": {"b": 1}, "c": {"b": 1, "d": 2}, "e": [{"b": 1}, {"b": 1}]}


def test_alias_bomb_is_refused_quickly() -> None:
    with pytest.raises(yamlsafe.LimitError, match="once aliases are expanded"):
        yamlsafe.safe_load(alias_bomb())


def test_alias_bomb_in_a_mapping_is_refused() -> None:
    lines = ["a0: &a0 {x: 1, y: 2, z: 3}"]
    lines += [f"a{i}: &a{i} {{p: *a{i - 1}, q: *a{i - 1}, r: *a{i - 1}, s: *a{i - 1}}}" for i in range(1, 20)]
    with pytest.raises(yamlsafe.LimitError, match="alias bomb"):
        yamlsafe.safe_load("\n".join(lines))


@pytest.mark.parametrize("text", ["a: &a [1, *a]", "a: &a {b: *a}", "a: &a [[[*a]]]"])
def test_recursive_alias_is_refused(text: str) -> None:
    with pytest.raises(yamlsafe.LimitError, match="recursive alias"):
        yamlsafe.safe_load(text)


@pytest.mark.parametrize("text", [
    "x: " + "[" * 5000 + "]" * 5000,  # flow
    "".join("  " * i + f"k{i}:\n" for i in range(5000)) + "  " * 5000 + "1\n",  # block mappings
    "- " * 5000 + "1\n",  # block sequences
    "\n".join(["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 300)]),  # deep through aliases
])
def test_deep_nesting_is_a_yaml_error(text: str) -> None:
    with pytest.raises(yaml.YAMLError, match="nest"):
        yamlsafe.safe_load(text)


def test_many_plain_values_are_refused_without_blaming_aliases() -> None:
    text = "\n".join(f"k{i}: [1, 2, 3, 4]" for i in range(yamlsafe.MAX_NODES // 5 + 10))
    with pytest.raises(yamlsafe.LimitError) as info:
        yamlsafe.safe_load(text)
    assert "alias" not in str(info.value) and f"{yamlsafe.MAX_NODES:,}" in str(info.value)


def test_huge_integer_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError, match="integer too large"):
        yamlsafe.safe_load("x: " + "9" * 5000)


def test_unsafe_tags_still_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlsafe.safe_load("x: !!python/object/apply:os.system [echo hi]")


def test_read_text_refuses_fifo_device_directory_and_big_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it would block until a writer comes
    for path, kind in [(fifo, "a FIFO"), (Path("/dev/zero"), "a device"), (tmp_path, "a directory")]:
        with pytest.raises(yamlsafe.NotRegularFile, match=kind):
            yamlsafe.read_text(path)
    big = tmp_path / "big.yaml"
    big.write_text("# pad\n" * (yamlsafe.MAX_BYTES // 6 + 10))
    with pytest.raises(yamlsafe.FileTooLarge, match="larger than 1,024 KiB"):
        yamlsafe.read_text(big)
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(yamlsafe.NotRegularFile):
        yamlsafe.load_file(link)
    ok = tmp_path / "ok.yaml"
    ok.write_text("lr: 1e-3\n")
    assert yamlsafe.load_file(ok) == {"lr": 0.001}


def test_errors_are_oserror_and_yamlerror_subclasses() -> None:
    """Callers written as ``except (OSError, yaml.YAMLError)`` need no change."""
    assert issubclass(yamlsafe.LimitError, yaml.YAMLError)
    assert issubclass(yamlsafe.NotRegularFile, OSError) and issubclass(yamlsafe.FileTooLarge, OSError)


# ------------------------------------------------------------------ fuzz: alias graphs


@st.composite
def alias_documents(draw) -> str:
    """Documents of anchored lists whose items are earlier anchors (random fan-out, chains, reuse)."""
    count = draw(st.integers(1, 30))
    lines = []
    for i in range(count):
        refs = draw(st.lists(st.integers(0, max(i - 1, 0)), min_size=1, max_size=12)) if i else []
        items = [f"*a{r}" for r in refs] or ["1", "2"]
        lines.append(f"a{i}: &a{i} [{', '.join(items)}]")
    return "\n".join(lines) + "\n"


def _expanded(doc: dict) -> int:
    memo: dict[int, int] = {}

    def size(node: object) -> int:
        if id(node) in memo:
            return memo[id(node)]
        out = 1 + sum(size(v) for v in node) if isinstance(node, list) else 1
        memo[id(node)] = out
        return out

    return 1 + sum(1 + size(v) for v in doc.values())


@settings(max_examples=200, deadline=None)
@given(text=alias_documents())
def test_fuzz_alias_graphs_load_or_refuse_within_the_bound(text: str) -> None:
    """Any alias graph either loads with at most MAX_NODES values once expanded, or is one LimitError."""
    try:
        doc = yamlsafe.safe_load(text)
    except yamlsafe.LimitError as exc:
        assert "\n" not in str(exc)
        assert _expanded(yaml.safe_load(text)) > yamlsafe.MAX_NODES or "nested deeper" in str(exc)
        return
    assert _expanded(doc) <= yamlsafe.MAX_NODES
