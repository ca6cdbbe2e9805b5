"""The CLI never overwrites what it cannot give back, and turns bad input into clear errors: setup
commands refuse an output that holds keys (or is their input) before computing and write whole or not
at all; `bench prover` validates its sizes and backends up front; an unwritable output path is
`error: <path>: <reason>` with FileAccessError's exit code, never a traceback. Real files throughout."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from relayer.circuits.solvency import Capacity
from relayer.cli.main import cli
from relayer.errors import ConfigError, FileAccessError, ProverError
from relayer.keys_setup import CIRCUIT_FILE, CircuitSpec, load_solvency_keys, setup_solvency_keys
from relayer.zk.circuit import Circuit
from relayer.zk.formats.r1cs_file import write_r1cs
from relayer.zk.formats.wtns_file import write_wtns
from relayer.zk.groth16.keys import PK_FILE, SNARKJS_VK_FILE, VK_FILE

TINY = Capacity(2, 1, 1)  # the smallest solvency circuit: a dev setup in ~2 s


def _invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def _relayer(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command (relayer.cli.main:main), so exit codes and stderr are what a user sees."""
    return subprocess.run([sys.executable, "-m", "relayer.cli.main", *args], capture_output=True, text=True, timeout=300)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _no_compute(*a, **k):  # type: ignore[no-untyped-def]
    raise AssertionError("the refusal must come before the setup is computed")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("clisafety")
    c = Circuit("safety")
    x = c.public_input("x")
    y = c.private_input("y")
    c.output("out", c.mul(x, y, "t"))
    write_r1cs(d / "c.r1cs", c.compile())
    write_wtns(d / "w.wtns", c.witness({"x": 3, "y": 4}))
    res = _invoke(["zk", "setup", "--r1cs", str(d / "c.r1cs"), "--out", str(d / "keys"), "--backend", "reference"])
    assert res.exit_code == 0, res.output
    return d


@pytest.fixture(scope="module")
def solvency_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("clisafety-solvency") / "circuit"
    res = _invoke(["circuit", "setup", "--out", str(d), "--accounts", "2", "--instruments", "1", "--scenarios", "1"])
    assert res.exit_code == 0, res.output
    return d


# --- 1. relayer circuit setup ------------------------------------------------------------------

def test_circuit_setup_refuses_a_folder_holding_solvency_keys(solvency_keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _digest(solvency_keys)
    monkeypatch.setattr("relayer.zk.groth16.setup.dev_setup", _no_compute)
    res = _invoke(["circuit", "setup", "--out", str(solvency_keys), "--accounts", "2", "--instruments", "1",
                   "--scenarios", "1"])
    assert isinstance(res.exception, ConfigError), res.output
    msg = str(res.exception)
    assert "never overwritten" in msg and all(n in msg for n in (CIRCUIT_FILE, PK_FILE, VK_FILE, SNARKJS_VK_FILE))
    assert _digest(solvency_keys) == before  # the deployed verifiers' key is still there, unchanged


def test_circuit_setup_names_each_key_file_found(solvency_keys: Path, tmp_path: Path) -> None:
    for name in (CIRCUIT_FILE, PK_FILE, VK_FILE, SNARKJS_VK_FILE):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        (d / name).write_bytes((solvency_keys / name).read_bytes())
        with pytest.raises(ConfigError, match=rf"already holds a key \({name}\)"):
            setup_solvency_keys(d, CircuitSpec(TINY))
        assert os.listdir(d) == [name]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty and is not a key folder"):
        setup_solvency_keys(other, CircuitSpec(TINY))
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        setup_solvency_keys(tmp_path / "a-file", CircuitSpec(TINY))


def test_circuit_setup_into_an_empty_folder_and_the_real_command_exit_code(solvency_keys: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    keys = setup_solvency_keys(empty, CircuitSpec(TINY))
    assert load_solvency_keys(empty).vk_hash == keys.vk_hash
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    r = _relayer("circuit", "setup", "--out", str(solvency_keys), "--accounts", "2", "--instruments", "1", "--scenarios", "1")
    assert r.returncode == ConfigError.exit_code, r.stderr
    assert "Traceback" not in r.stderr and "a key folder is never overwritten" in r.stderr


def test_solvency_setup_failing_mid_write_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from relayer.zk.groth16 import keys as gk

    real = gk.write_verifying_key

    def disk_full(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gk, "write_verifying_key", disk_full)  # proving_key.bin is written, then the disk fills
    out = tmp_path / "circuit"
    with pytest.raises(OSError, match="No space"):
        setup_solvency_keys(out, CircuitSpec(TINY))
    assert list(tmp_path.iterdir()) == []  # no half key folder, no partial folder left
    monkeypatch.setattr(gk, "write_verifying_key", real)
    setup_solvency_keys(out, CircuitSpec(TINY))  # the same --out works afterwards
    assert load_solvency_keys(out).spec == CircuitSpec(TINY)


_CRASH = """
import os, sys
from pathlib import Path
from relayer.circuits.solvency import Capacity
from relayer.keys_setup import CircuitSpec, setup_solvency_keys
from relayer.zk.groth16 import keys as gk

def crash(path, *a, **k):
    assert (Path(path).parent / gk.PK_FILE).stat().st_size > 0  # mid-write: the proving key is on disk
    os._exit(9)  # killed: no cleanup runs

gk.write_verifying_key = crash
setup_solvency_keys(Path(sys.argv[1]), CircuitSpec(Capacity(2, 1, 1)))
"""


def test_solvency_setup_killed_mid_write_leaves_no_key_folder(tmp_path: Path) -> None:
    out = tmp_path / "circuit"
    r = subprocess.run([sys.executable, "-c", _CRASH, str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 9, r.stderr
    assert not out.exists()
    (partial,) = tmp_path.iterdir()
    assert partial.name.startswith(".circuit.partial-") and (partial / PK_FILE).is_file()
    setup_solvency_keys(out, CircuitSpec(TINY))  # the leftover does not block a rerun
    assert load_solvency_keys(out).spec == CircuitSpec(TINY)


def test_devnet_keys_of_another_spec_are_moved_aside_not_replaced(solvency_keys: Path, tmp_path: Path) -> None:
    from relayer.devnet.solvency import ensure_keys

    circuit_dir = tmp_path / "circuit"
    os.mkdir(circuit_dir)
    for p in solvency_keys.iterdir():
        (circuit_dir / p.name).write_bytes(p.read_bytes())
    old = _digest(circuit_dir)
    said: list[str] = []
    same = ensure_keys(circuit_dir, CircuitSpec(TINY), progress=said.append)  # same spec: reused as it is
    assert "reusing" in said[-1] and _digest(circuit_dir) == old and same.path == circuit_dir
    other = CircuitSpec(Capacity(2, 1, 2))
    new = ensure_keys(circuit_dir, other, progress=said.append)
    (aside,) = [p for p in tmp_path.iterdir() if p.name.startswith("circuit.old-")]
    assert _digest(aside) == old  # the previous key, whole and unchanged
    assert "different circuit spec" in said[-1] and str(aside) in said[-1]
    assert load_solvency_keys(circuit_dir).spec == other and new.vk_hash != same.vk_hash
    # a folder that does not load is kept too (its reason said), and a second move gets another name
    (circuit_dir / CIRCUIT_FILE).write_text("{not json")
    broken = _digest(circuit_dir)
    ensure_keys(circuit_dir, other, progress=said.append)
    assert "do not load" in said[-1]
    kept = sorted(p for p in tmp_path.iterdir() if p.name.startswith("circuit.old-"))
    assert len(kept) == 2 and sorted([_digest(k) for k in kept], key=str) == sorted([old, broken], key=str)


# --- 2. relayer zk setup -------------------------------------------------------------------------

def test_zk_setup_refuses_existing_keys_before_computing(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = files / "keys"
    before = _digest(keys)
    monkeypatch.setattr("relayer.zk.groth16.setup.dev_setup", _no_compute)
    res = _invoke(["zk", "setup", "--r1cs", str(files / "c.r1cs"), "--out", str(keys), "--backend", "reference"])
    assert isinstance(res.exception, ConfigError), res.output
    assert f"({PK_FILE}, {SNARKJS_VK_FILE}, {VK_FILE})" in str(res.exception)
    assert _digest(keys) == before


def test_zk_setup_refuses_one_leftover_key_file_and_other_files(files: Path, tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    (one / VK_FILE).write_bytes((files / "keys" / VK_FILE).read_bytes())
    res = _invoke(["zk", "setup", "--r1cs", str(files / "c.r1cs"), "--out", str(one), "--backend", "reference"])
    assert isinstance(res.exception, ConfigError) and f"({VK_FILE})" in str(res.exception)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "c.r1cs").write_bytes((files / "c.r1cs").read_bytes())
    res = _invoke(["zk", "setup", "--r1cs", str(files / "c.r1cs"), "--out", str(busy), "--backend", "reference"])
    assert isinstance(res.exception, ConfigError) and "not empty" in str(res.exception)
    assert os.listdir(busy) == ["c.r1cs"]


def test_zk_setup_into_new_and_empty_folders(files: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "deep" / "er" / "k"):
        res = _invoke(["zk", "setup", "--r1cs", str(files / "c.r1cs"), "--out", str(out), "--backend", "reference"])
        assert res.exit_code == 0, res.output
        assert sorted(os.listdir(out)) == sorted([PK_FILE, VK_FILE, SNARKJS_VK_FILE])
        assert out.stat().st_mode & 0o777 == 0o777 & ~_umask()  # mkdir's usual mode, not mkdtemp's 0700
    assert not [p for p in tmp_path.rglob(".*partial-*")]


# --- 3. powers of tau ----------------------------------------------------------------------------

@pytest.fixture()
def ptau(tmp_path: Path) -> Path:
    p = tmp_path / "p0.ptau"
    res = _invoke(["setup", "ptau-new", "--power", "2", "--out", str(p)])
    assert res.exit_code == 0, res.output
    return p


def test_ptau_contribute_refuses_out_equal_to_in(ptau: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = ptau.read_bytes()
    monkeypatch.setattr("relayer.zk.groth16.setup.phase1_contribute", _no_compute)
    link = ptau.parent / "link.ptau"
    link.symlink_to(ptau)
    hard = ptau.parent / "hard.ptau"
    os.link(ptau, hard)
    for same in (ptau, ptau.parent / "." / ptau.name, ptau.parent / ".." / ptau.parent.name / ptau.name, link, hard):
        res = _invoke(["setup", "ptau-contribute", "--in", str(ptau), "--out", str(same)])
        assert isinstance(res.exception, ConfigError), (same, res.output)
        assert "is the --in file" in str(res.exception)
        assert ptau.read_bytes() == before


def test_ptau_commands_refuse_an_existing_out(ptau: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "p1.ptau"
    other.write_bytes(b"someone else's transcript")
    monkeypatch.setattr("relayer.zk.groth16.setup.phase1_contribute", _no_compute)
    monkeypatch.setattr("relayer.zk.groth16.setup.phase1_new", _no_compute)
    res = _invoke(["setup", "ptau-contribute", "--in", str(ptau), "--out", str(other)])
    assert isinstance(res.exception, ConfigError) and "already exists" in str(res.exception), res.output
    res = _invoke(["setup", "ptau-new", "--power", "2", "--out", str(other)])
    assert isinstance(res.exception, ConfigError) and "already exists" in str(res.exception), res.output
    assert other.read_bytes() == b"someone else's transcript"
    dangling = tmp_path / "dangling.ptau"
    dangling.symlink_to(tmp_path / "nowhere")
    res = _invoke(["setup", "ptau-new", "--power", "2", "--out", str(dangling)])
    assert isinstance(res.exception, ConfigError)
    assert not (tmp_path / "nowhere").exists()


def test_ptau_contribute_writes_a_new_file_whole(ptau: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "p1.ptau"
    res = _invoke(["setup", "ptau-contribute", "--in", str(ptau), "--out", str(out), "--name", "carol"])
    assert res.exit_code == 0, res.output
    res = _invoke(["setup", "ptau-verify", "--old", str(ptau), "--new", str(out)])
    assert res.exit_code == 0 and "'carol' is valid" in res.output
    assert [p.name for p in out.parent.iterdir()] == ["p1.ptau"]  # no temporary file left
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()  # a public transcript: not mkstemp's 0600


def test_ptau_write_failing_leaves_no_out(ptau: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import relayer.zk.groth16.setup as st

    real = st.write_ptau

    def half_then_full(path, p):  # type: ignore[no-untyped-def]
        Path(path).write_bytes(b"RGP1 half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(st, "write_ptau", half_then_full)
    out = tmp_path / "p1.ptau"
    res = _invoke(["setup", "ptau-contribute", "--in", str(ptau), "--out", str(out)])
    assert isinstance(res.exception, OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p0.ptau"]
    monkeypatch.setattr(st, "write_ptau", real)
    assert _invoke(["setup", "ptau-contribute", "--in", str(ptau), "--out", str(out)]).exit_code == 0


# --- 4. relayer bench prover ---------------------------------------------------------------------

@pytest.mark.parametrize(("args", "says"), [
    (["--sizes", "40"], "2^40 is outside the benchmark's range 2^4..2^24"),
    (["--sizes", "3"], "2^3 is outside"),
    (["--sizes", "25"], "2^25 is outside"),
    (["--sizes", "-1"], "outside"),
    (["--sizes", "abc"], "'abc' is not an integer"),
    (["--sizes", "12,1e3"], "'1e3' is not an integer"),
    (["--sizes", " , "], "no size given"),
    (["--backends", "foo", "--sizes", "10"], "unknown prover backend 'foo'"),
    (["--backends", "cpu,gpux"], "unknown prover backend 'gpux'"),
    (["--backends", ","], "no backend given"),
    (["--timeout", "0"], "--timeout"),
    (["--timeout", "-5"], "--timeout"),
])
def test_bench_prover_rejects_bad_input_up_front(args: list[str], says: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("relayer.bench.prover.run", _no_compute)
    res = _invoke(["bench", "prover", *args])
    assert res.exit_code == 2, res.output
    assert says in res.output and "Traceback" not in res.output


def test_bench_prover_real_command_exit_code_for_a_bad_size() -> None:
    r = _relayer("bench", "prover", "--sizes", "abc")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "'abc' is not an integer" in r.stderr


def test_bench_prover_fails_when_a_prover_run_failed(tmp_path: Path) -> None:
    """A backend that cannot run is not a successful benchmark: exit ProverError's code, the error
    itself (not the worker's traceback) on stdout, the details in the JSON."""
    import importlib.util

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("the gpu backend may run here; this needs a backend that fails")
    out = tmp_path / "r" / "prover.json"
    r = _relayer("bench", "prover", "--sizes", "4", "--backends", "cpu,gpu", "--reps", "0", "--no-snarkjs", "--no-gas",
                 "--out", str(out))
    assert r.returncode == ProverError.exit_code, r.stdout + r.stderr
    assert "1 prover run(s) failed (2^4 gpu)" in r.stderr
    line = [ln for ln in r.stdout.splitlines() if " gpu " in ln][0]
    assert "error:" in line and "Traceback" not in r.stdout
    res = json.loads(out.read_text())
    assert "best_s" in res["sizes"][0]["backends"]["cpu"] and "error" in res["sizes"][0]["backends"]["gpu"]


# --- 5. unwritable output paths ------------------------------------------------------------------

@pytest.fixture()
def blocked(tmp_path: Path) -> Path:
    """A path whose parent is a regular file: no one (root included) can create it."""
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file" / "sub"


def test_zk_setup_to_an_unwritable_out_is_a_clean_error(files: Path, blocked: Path) -> None:
    for out in (blocked / "k", Path("/proc/nope/k")):
        r = _relayer("zk", "setup", "--r1cs", str(files / "c.r1cs"), "--out", str(out), "--backend", "reference")
        assert r.returncode == FileAccessError.exit_code, r.stderr
        assert "Traceback" not in r.stderr
        assert f"error: --out {out}: cannot create its folder: " in r.stderr
    assert "Not a directory" in r.stderr or "No such file" in r.stderr


def test_zk_prove_to_an_unwritable_proof_fails_before_proving(files: Path, blocked: Path, tmp_path: Path) -> None:
    for flag in ("--proof", "--public"):
        paths = {"--proof": tmp_path / "p.json", "--public": tmp_path / "pub.json", flag: blocked / "x.json"}
        r = _relayer("zk", "prove", "--keys", str(files / "keys"), "--wtns", str(files / "w.wtns"), "--proof",
                     str(paths["--proof"]), "--public", str(paths["--public"]), "--prover", "reference")
        assert r.returncode == FileAccessError.exit_code, r.stderr
        assert "Traceback" not in r.stderr and f"error: {flag} {blocked / 'x.json'}: cannot create its folder" in r.stderr
        assert "proof verified" not in r.stderr  # refused before the proof
        assert not (tmp_path / "p.json").exists() and not (tmp_path / "pub.json").exists()


def test_an_unchecked_unwritable_path_reaches_the_last_resort_handler(files: Path, blocked: Path) -> None:
    """export-verifier does not check its --out itself: main()'s OSError handler still makes it clean."""
    r = _relayer("zk", "export-verifier", "--keys", str(files / "keys"), "--out", str(blocked))
    assert r.returncode == FileAccessError.exit_code, r.stderr
    assert "Traceback" not in r.stderr
    assert f"error: {blocked}: Not a directory" in r.stderr


def _main_raising(exc: BaseException, monkeypatch: pytest.MonkeyPatch) -> None:
    import relayer.cli.main as main_mod

    @click.command()
    def boom() -> None:
        raise exc

    monkeypatch.setattr(main_mod, "cli", boom)
    monkeypatch.setattr("sys.argv", ["relayer"])
    main_mod.main()


def test_main_turns_file_errors_into_exit_12(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (PermissionError(errno.EACCES, "Permission denied", "/srv/keys/proving_key.bin"),
         "error: /srv/keys/proving_key.bin: Permission denied"),
        (OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b"), "error: /a -> /b: Invalid cross-device link"),
        (OSError(errno.ENOSPC, "No space left on device"), "error: No space left on device"),  # write(2): no file name
    ]
    for exc, says in cases:
        with pytest.raises(SystemExit) as exit_:
            _main_raising(exc, monkeypatch)
        assert exit_.value.code == FileAccessError.exit_code == 12
        assert capsys.readouterr().err.strip() == says


def test_main_does_not_swallow_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # an OSError without errno (raised by hand), a socket's (no file name), and a programming error
    # keep their traceback: they are bugs or unexpected, not a path the user can fix
    for exc in (OSError("something odd"), ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
                TypeError("a bug")):
        with pytest.raises(type(exc)):
            _main_raising(exc, monkeypatch)


def test_zk_prove_never_writes_over_its_inputs_or_its_other_output(files: Path, tmp_path: Path) -> None:
    keys = files / "keys"
    before = {p.name: p.read_bytes() for p in (files / "w.wtns", files / "c.r1cs", keys / VK_FILE)}
    link = tmp_path / "w-link.wtns"
    link.symlink_to(files / "w.wtns")
    cases = [
        (["--proof", str(files / "w.wtns"), "--public", str(tmp_path / "pub.json")], "--proof", "--wtns"),
        (["--proof", str(link), "--public", str(tmp_path / "pub.json")], "--proof", "--wtns"),
        (["--proof", str(tmp_path / "p.json"), "--public", str(files / "c.r1cs")], "--public", "--r1cs"),
        (["--proof", str(keys / VK_FILE), "--public", str(tmp_path / "pub.json")], "--proof", f"--keys {VK_FILE}"),
        (["--proof", str(tmp_path / "same.json"), "--public", str(tmp_path / "." / "same.json")], "--public", "--proof"),
    ]
    for outs, flag, what in cases:
        res = _invoke(["zk", "prove", "--keys", str(keys), "--r1cs", str(files / "c.r1cs"), "--wtns", str(files / "w.wtns"),
                       *outs, "--prover", "reference"])
        assert isinstance(res.exception, ConfigError), (outs, res.output)
        assert f"{flag} " in str(res.exception) and f"is the {what} file" in str(res.exception)
    assert {p.name: p.read_bytes() for p in (files / "w.wtns", files / "c.r1cs", keys / VK_FILE)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-link.wtns"]
