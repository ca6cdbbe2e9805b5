"""`relayer setup contribute` never overwrites a key: --out equal to --in, inside it, an existing key
folder or another non-empty folder are refused, and a contribution interrupted mid-write (an error,
or the process killed) leaves no half-written key folder and the --in key untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from relayer.circuits.solvency import Capacity
from relayer.cli.main import cli
from relayer.errors import ConfigError
from relayer.keys_setup import CIRCUIT_FILE, CircuitSpec, contribute_key_folder, load_solvency_keys, setup_solvency_keys
from relayer.zk.circuit import Circuit
from relayer.zk.formats.r1cs_file import write_r1cs
from relayer.zk.groth16.keys import PK_FILE, VK_FILE, load_proving_key
from relayer.zk.solidity import vk_hash


def _invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def _digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (relative name -> hex): what must not change."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("setupcli")
    c = Circuit("contrib")
    x = c.public_input("x")
    y = c.private_input("y")
    c.output("out", c.mul(x, y, "t"))
    write_r1cs(d / "c.r1cs", c.compile())
    res = _invoke(["zk", "setup", "--r1cs", str(d / "c.r1cs"), "--out", str(d / "keys"), "--backend", "reference"])
    assert res.exit_code == 0, res.output
    return d / "keys"


def _contribute(in_dir: Path, out_dir: Path):  # type: ignore[no-untyped-def]
    return _invoke(["setup", "contribute", "--in", str(in_dir), "--out", str(out_dir), "--name", "t", "--entropy", "e"])


def test_out_equal_to_in_is_refused_and_the_key_untouched(keys: Path) -> None:
    before = _digest(keys)
    for same in (keys, keys.parent / "." / keys.name, keys / ".." / keys.name):
        res = _contribute(keys, same)
        assert isinstance(res.exception, ConfigError), res.output
        assert "is the --in key folder" in str(res.exception) and "new folder" in str(res.exception)
    link = keys.parent / "keys-link"
    link.symlink_to(keys, target_is_directory=True)
    try:
        res = _contribute(keys, link)  # another name for the same folder
        assert isinstance(res.exception, ConfigError) and "is the --in key folder" in str(res.exception)
    finally:
        link.unlink()
    assert _digest(keys) == before


def test_out_inside_in_is_refused(keys: Path) -> None:
    before = _digest(keys)
    res = _contribute(keys, keys / "next")
    assert isinstance(res.exception, ConfigError) and "inside the --in key folder" in str(res.exception)
    assert _digest(keys) == before and not (keys / "next").exists()


def test_out_holding_another_key_is_refused(keys: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for p in keys.iterdir():
        (other / p.name).write_bytes(p.read_bytes())
    before = _digest(other)
    res = _contribute(keys, other)
    assert isinstance(res.exception, ConfigError) and "already holds a key" in str(res.exception)
    assert _digest(other) == before


def test_out_non_empty_and_not_a_key_folder_is_refused(keys: Path, tmp_path: Path) -> None:
    junk = tmp_path / "docs"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a key")
    res = _contribute(keys, junk)
    assert isinstance(res.exception, ConfigError) and "not empty and is not a key folder" in str(res.exception)
    assert _digest(junk) == {"notes.txt": hashlib.sha256(b"not a key").hexdigest()}
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        contribute_key_folder(keys, a_file)


def test_contribution_into_a_new_or_empty_folder(keys: Path, tmp_path: Path) -> None:
    before = _digest(keys)
    for out in (tmp_path / "a" / "new", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        res = _contribute(keys, out)
        assert res.exit_code == 0, res.output
        assert {PK_FILE, VK_FILE} <= {p.name for p in out.iterdir()}
        assert len(load_proving_key(out).contributions) == len(load_proving_key(keys).contributions) + 1
        res = _invoke(["setup", "verify", "--old", str(keys), "--new", str(out), "--backend", "reference"])
        assert res.exit_code == 0, res.output
        assert not [p for p in out.parent.iterdir() if ".partial-" in p.name]  # no leftover
    assert _digest(keys) == before


def test_an_error_mid_write_leaves_no_key_folder(keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import relayer.keys_setup as ks
    from relayer.zk.groth16 import keys as gk

    real = gk.write_verifying_key

    def fail(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gk, "write_verifying_key", fail)  # proving_key.bin is written, then the disk fills
    before = _digest(keys)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="No space"):
        ks.contribute_key_folder(keys, out, name="t")
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no half key, no partial folder left
    assert _digest(keys) == before
    monkeypatch.setattr(gk, "write_verifying_key", real)
    ks.contribute_key_folder(keys, out, name="t")  # the same --out works afterwards
    assert (out / VK_FILE).is_file()


_CRASH = """
import os, sys
from pathlib import Path
from relayer.zk.groth16 import keys as gk
from relayer.keys_setup import contribute_key_folder

def crash(path, *a, **k):
    assert (Path(path).parent / gk.PK_FILE).stat().st_size > 0  # mid-write: the proving key is on disk
    os._exit(9)  # killed: no cleanup runs

gk.write_verifying_key = crash
contribute_key_folder(Path(sys.argv[1]), Path(sys.argv[2]), name="crash")
"""


def test_a_process_killed_mid_write_leaves_no_key_folder(keys: Path, tmp_path: Path) -> None:
    before = _digest(keys)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", _CRASH, str(keys), str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 9, r.stderr
    assert not out.exists()  # the half-written files are in a hidden partial folder, never at --out
    (partial,) = tmp_path.iterdir()
    assert partial.name.startswith(".out.partial-") and (partial / PK_FILE).is_file()
    assert _digest(keys) == before
    res = _contribute(keys, out)  # rerun: the leftover does not block it
    assert res.exit_code == 0, res.output
    res = _invoke(["setup", "verify", "--old", str(keys), "--new", str(out), "--backend", "reference"])
    assert res.exit_code == 0, res.output


def test_solvency_key_folder_keeps_its_circuit_description(tmp_path: Path) -> None:
    """circuit.json travels with the key, with the new vk_hash (a stale one makes the folder unloadable)."""
    src = tmp_path / "solvency"
    setup_solvency_keys(src, CircuitSpec(Capacity(2, 1, 1)))
    before = _digest(src)
    out = tmp_path / "solvency-2"
    res = _contribute(src, out)
    assert res.exit_code == 0, res.output
    old, new = load_solvency_keys(src), load_solvency_keys(out)
    assert new.spec == old.spec and new.vk_hash != old.vk_hash == vk_hash(old.vk)
    meta = json.loads((out / CIRCUIT_FILE).read_text())
    assert meta["vk_hash"] == "0x" + new.vk_hash.hex() and meta["dev"] is True
    assert new.pk.vk == new.vk  # the proving key matches the key the folder describes
    assert _digest(src) == before


def test_unreadable_circuit_json_is_a_format_error(keys: Path, tmp_path: Path) -> None:
    from relayer.errors import FormatError

    src = tmp_path / "src"
    src.mkdir()
    for p in keys.iterdir():
        (src / p.name).write_bytes(p.read_bytes())
    (src / CIRCUIT_FILE).write_text("[1, 2]")
    with pytest.raises(FormatError, match="circuit.json"):
        contribute_key_folder(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert os.listdir(tmp_path) == ["src"]
