"""`relayer devnet up` run again in the same folder: the relayer.db of the earlier devnet (rounds and
nonces of chains that are gone) is moved aside, never deleted, so `relayer round` starts clean on the
fresh chains; the help and the generated chains.toml say how the keystore password reaches `relayer
round`; `--prover gpu` without a device is a clean error before any round starts."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from relayer.cli.devnet import devnet as devnet_group
from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD
from relayer.devnet.manager import devnet_down, devnet_up, move_aside_database, write_devnet_config
from relayer.devnet.solvency import CIRCUIT_DIR, DEFAULT_CAPACITY
from relayer.errors import BackendUnavailable, ChainError, ConfigError
from relayer.keys_setup import CircuitSpec, setup_solvency_keys
from devnet_helpers import free_base_port

REPO_ROOT = Path(__file__).resolve().parent.parent
RELAYER = [sys.executable, "-m", "relayer.cli.main"]
EXPORT_LINE = f"export RELAYER_KEYSTORE_PASSWORD={DEV_KEYSTORE_PASSWORD}"
STAMP = dt.datetime(2026, 11, 26, 16, 5, 9, tzinfo=dt.UTC)


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    # nothing of the caller's relayer settings (password, database, prover) leaks into the run
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RELAYER_")}
    return subprocess.run([*RELAYER, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
                          env=clean | (env or {}))


def make_wal_db(path: Path, rows: int) -> None:
    """A WAL-mode database whose rows are still only in the -wal file, as a killed relayer leaves it."""
    work = path.parent / "work"
    work.mkdir()
    conn = sqlite3.connect(work / path.name)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE r (n INTEGER)")
    conn.executemany("INSERT INTO r VALUES (?)", [(i,) for i in range(rows)])
    conn.commit()
    # copied while the connection is open: closing it would checkpoint the WAL into the file
    for f in work.iterdir():
        shutil.copy2(f, path.parent / f.name)
    conn.close()
    shutil.rmtree(work)


# --- no anvil needed ---------------------------------------------------------------------------


def test_move_aside_keeps_the_database_and_its_wal_together(tmp_path: Path) -> None:
    make_wal_db(tmp_path / "relayer.db", rows=7)
    assert (tmp_path / "relayer.db-wal").stat().st_size > 0 and (tmp_path / "relayer.db-shm").exists()
    moved = move_aside_database(tmp_path, now=STAMP)
    assert [(a.name, b.name) for a, b in moved] == [
        ("relayer.db", "relayer.db.20261126T160509Z"),
        ("relayer.db-wal", "relayer.db.20261126T160509Z-wal"),
        ("relayer.db-shm", "relayer.db.20261126T160509Z-shm"),
    ]
    assert not any((tmp_path / n).exists() for n in ("relayer.db", "relayer.db-wal", "relayer.db-shm"))
    # SQLite pairs the moved WAL with the moved database: the rows only the WAL held are still there
    conn = sqlite3.connect(tmp_path / "relayer.db.20261126T160509Z")
    try:
        assert conn.execute("SELECT count(*) FROM r").fetchone() == (7,)
    finally:
        conn.close()


def test_move_aside_nothing_there_a_stray_wal_and_a_name_already_taken(tmp_path: Path) -> None:
    assert move_aside_database(tmp_path, now=STAMP) == []
    assert list(tmp_path.iterdir()) == []
    # a WAL without its database would be replayed into the next relayer.db of that name: moved too
    (tmp_path / "relayer.db-wal").write_bytes(b"stale")
    assert [b.name for _, b in move_aside_database(tmp_path, now=STAMP)] == ["relayer.db.20261126T160509Z-wal"]
    # the same second again: an earlier set is never overwritten
    (tmp_path / "relayer.db").write_bytes(b"second")
    assert [b.name for _, b in move_aside_database(tmp_path, now=STAMP)] == ["relayer.db.20261126T160509Z-2"]
    assert (tmp_path / "relayer.db.20261126T160509Z-wal").read_bytes() == b"stale"
    assert (tmp_path / "relayer.db.20261126T160509Z-2").read_bytes() == b"second"


def test_move_aside_undoes_a_half_done_move(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "relayer.db").write_bytes(b"db")
    (tmp_path / "relayer.db-wal").write_bytes(b"wal")
    real_rename = os.rename

    def rename(src: Path, dst: Path) -> None:
        if str(src).endswith("-wal"):
            raise PermissionError(13, "Permission denied", str(src))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(ConfigError, match="cannot move the previous devnet's database .*relayer.db aside"):
        move_aside_database(tmp_path, now=STAMP)
    # both back under their names: never a database split from its WAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relayer.db", "relayer.db-wal"]
    assert (tmp_path / "relayer.db").read_bytes() == b"db"


def test_help_and_chains_toml_say_how_the_password_reaches_relayer_round(tmp_path: Path) -> None:
    runner = CliRunner()
    up_help = runner.invoke(devnet_group, ["up", "--help"]).output
    flat = " ".join(up_help.split())
    assert "only defaults to" not in flat
    assert "export RELAYER_KEYSTORE_PASSWORD=relayer-devnet-insecure-password" in flat
    assert "relayer.db.<UTC timestamp>" in flat
    down_help = " ".join(runner.invoke(devnet_group, ["down", "--help"]).output.split())
    assert "chains.toml" in down_help and "state file" in down_help
    state = {"chains": [], "operators": [{"keystore": str(tmp_path / "keys" / "operator-1.json")}], "quorum": 1,
             "password_env": "RELAYER_KEYSTORE_PASSWORD", "default_dev_password": True}
    text = write_devnet_config(tmp_path, state).read_text()
    assert f"#   {EXPORT_LINE}\n" in text and "unset: the documented devnet default" not in text
    text = write_devnet_config(tmp_path, state | {"default_dev_password": False}).read_text()
    assert DEV_KEYSTORE_PASSWORD not in text and "export RELAYER_KEYSTORE_PASSWORD=<the password" in text


# --- on anvil ----------------------------------------------------------------------------------


@pytest.mark.anvil
def test_a_failed_up_leaves_the_database_where_it_was(tmp_path: Path) -> None:
    (tmp_path / "relayer.db").write_bytes(b"earlier devnet")
    # a verifier "address" without code makes the feed deployment revert
    with pytest.raises(ChainError, match="SolvencyFeed"):
        devnet_up(1, tmp_path, base_port=free_base_port(1), verifier_addresses=["0x" + "11" * 20])
    assert (tmp_path / "relayer.db").read_bytes() == b"earlier devnet"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("relayer.db.")]


@pytest.fixture(scope="module")
def solvency_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("solvency-keys")
    setup_solvency_keys(d, CircuitSpec(DEFAULT_CAPACITY))
    return d


def gpu_usable() -> bool:
    from relayer.pipeline.prover import resolve_backend

    try:
        resolve_backend("gpu")
    except BackendUnavailable:
        return False
    return True


def rounds_of(config: Path, env: dict[str, str]) -> list[tuple[int, str]]:
    r = cli("status", "-c", str(config), "--json", env=env)
    assert r.returncode == 0, r.stderr
    return [(x["round"], x["state"]) for x in json.loads(r.stdout)["rounds"]]


@pytest.mark.anvil
@pytest.mark.slow
def test_devnet_up_twice_in_one_folder_then_round(tmp_path: Path, solvency_keys_dir: Path) -> None:
    devdir = tmp_path / "net"
    devdir.mkdir()
    shutil.copytree(solvency_keys_dir, devdir / CIRCUIT_DIR)  # reused by `up` (same capacity): no setup
    config = devdir / "chains.toml"
    pw = {"RELAYER_KEYSTORE_PASSWORD": DEV_KEYSTORE_PASSWORD}
    base = free_base_port(1)
    up = cli("devnet", "up", "--chains", "1", "--base-port", str(base), "--dir", str(devdir))
    try:
        assert up.returncode == 0, up.stderr
        # the printed next steps and the generated file both carry the line `relayer round` needs
        assert EXPORT_LINE in up.stderr and f"relayer round --once --force -c {config}" in up.stderr
        assert EXPORT_LINE in config.read_text()
        assert "moved" not in up.stderr  # nothing to move the first time

        # without it, `relayer round` refuses (no known-password fallback), naming the variable
        r = cli("round", "--once", "--force", "-c", str(config))
        assert r.returncode == 2 and "RELAYER_KEYSTORE_PASSWORD" in r.stderr, r.stderr

        if not gpu_usable():
            # gpu without a device: one clean error before any round, with prover workers or without
            for extra in ([], ["--workers", "2"], ["--workers", "0"]):
                r = cli("round", "--once", "--force", "--prover", "gpu", *extra, "-c", str(config), env=pw)
                assert r.returncode == 5, (extra, r.stderr)
                assert "CuPy is not importable" in r.stderr and "choose --prover cpu" in r.stderr
                assert "Traceback" not in r.stderr and "BrokenProcessPool" not in r.stderr
                assert "snapshot" not in r.stderr
            assert rounds_of(config, pw) == []

        r = cli("round", "--once", "--force", "-c", str(config), env=pw)  # prover "auto", default workers
        assert r.returncode == 0, r.stderr
        assert rounds_of(config, pw) == [(1, "done")]
        first_db = (devdir / "relayer.db").read_bytes()
    finally:
        down = cli("devnet", "down", "--dir", str(devdir))
    assert down.returncode == 0, down.stderr
    assert (devdir / "relayer.db").exists() and not config.exists()  # down keeps the database

    up2 = cli("devnet", "up", "--chains", "1", "--base-port", str(base), "--dir", str(devdir))
    try:
        assert up2.returncode == 0, up2.stderr
        m = re.search(r"moved the previous devnet's database aside to (relayer\.db\.\d{8}T\d{6}Z)", up2.stderr)
        assert m, up2.stderr
        assert f"moved aside (kept, not used): {devdir / m.group(1)}" in up2.stdout
        assert not (devdir / "relayer.db").exists()
        # kept, byte for byte (the relayer closed it cleanly, so no WAL is left beside it)
        assert (devdir / m.group(1)).read_bytes() == first_db
        assert json.loads((devdir / "devnet.json").read_text())["database_moved_aside"] == [str(devdir / m.group(1))]

        # the fresh chains get a fresh database: no nonce gap to halt on (was exit 10), no stale rows
        r = cli("round", "--once", "--force", "-c", str(config), env=pw)
        assert r.returncode == 0, r.stderr
        assert rounds_of(config, pw) == [(1, "done")]
    finally:
        devnet_down(devdir)
