"""`relayer zk` and `relayer setup contribute` end to end, in-process (CliRunner) and as a real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from relayer.cli.main import cli
from relayer.errors import ConfigError, FormatError, VerificationError
from relayer.zk.circuit import Circuit
from relayer.zk.formats.r1cs_file import write_r1cs
from relayer.zk.formats.wtns_file import write_wtns


def _invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, args, catch_exceptions=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("clizk")
    c = Circuit("cli")
    x = c.public_input("x")
    y = c.private_input("y")
    c.output("out", c.mul(c.mul(x, y, "t"), y, "u"))
    write_r1cs(d / "c.r1cs", c.compile())
    write_wtns(d / "w.wtns", c.witness({"x": 3, "y": 4}))
    write_wtns(d / "bad.wtns", c.tamper(c.witness({"x": 3, "y": 4}), {"u": 5}))
    return d


@pytest.fixture(scope="module")
def keys(files: Path) -> Path:
    res = _invoke(["zk", "setup", "--r1cs", str(files / "c.r1cs"), "--out", str(files / "keys"), "--backend", "reference"])
    assert res.exit_code == 0, res.output
    assert "development setup: not for production" in res.output
    assert "transcript hash:" in res.output
    return files / "keys"


@pytest.fixture(scope="module")
def proved(files: Path, keys: Path) -> tuple[Path, Path]:
    res = _invoke(["zk", "prove", "--keys", str(keys), "--wtns", str(files / "w.wtns"), "--proof", str(files / "proof.json"),
                   "--public", str(files / "public.json"), "--prover", "reference", "--timings"])
    assert res.exit_code == 0, res.output
    assert "development setup: not for production" in res.output  # warned wherever dev keys are used
    stages = json.loads(res.output.strip().splitlines()[-1])
    assert stages["backend"] == "reference" and "msm_h" in stages["stages"]
    return files / "proof.json", files / "public.json"


def test_setup_writes_keys(keys: Path) -> None:
    assert {p.name for p in keys.iterdir()} >= {"proving_key.bin", "verifying_key.json", "verification_key.json"}
    assert json.loads((keys / "verifying_key.json").read_text())["dev"] is True


def test_prove_and_verify_round_trip(keys: Path, proved: tuple[Path, Path]) -> None:
    proof, public = proved
    assert json.loads(public.read_text()) == [str(3 * 16), "3"]
    res = _invoke(["zk", "verify", "--keys", str(keys), "--proof", str(proof), "--public", str(public)])
    assert res.exit_code == 0 and "proof OK" in res.output
    res = _invoke(["zk", "verify", "--vkey", str(keys / "verification_key.json"), "--proof", str(proof), "--public", str(public)])
    assert res.exit_code == 0 and "proof OK" in res.output


def test_verify_rejects_other_public_signals(files: Path, keys: Path, proved: tuple[Path, Path]) -> None:
    proof, _ = proved
    (files / "other.json").write_text(json.dumps(["49", "3"]))
    res = _invoke(["zk", "verify", "--keys", str(keys), "--proof", str(proof), "--public", str(files / "other.json")])
    assert isinstance(res.exception, VerificationError)
    assert "does NOT verify" in str(res.exception)


def test_prove_refuses_unsatisfying_witness(files: Path, keys: Path) -> None:
    res = _invoke(["zk", "prove", "--keys", str(keys), "--wtns", str(files / "bad.wtns"), "--r1cs", str(files / "c.r1cs"),
                   "--proof", str(files / "x.json"), "--public", str(files / "y.json"), "--prover", "reference"])
    assert res.exception is not None and "not satisfied" in str(res.exception)
    assert not (files / "x.json").exists()


def test_prove_hands_the_wtns_to_the_prover_as_limbs(files: Path, keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`zk prove --wtns` reads the file straight into the (n, 4) uint64 limb array the prover takes
    (read_wtns_limbs), not a list of Python ints; the proof is the same statement."""
    import numpy as np

    from relayer.zk.groth16 import prover as prover_mod

    seen: list[object] = []
    real_prove = prover_mod.prove

    def spy(pk, witness, backend, **kw):  # type: ignore[no-untyped-def]
        seen.append(witness)
        return real_prove(pk, witness, backend, **kw)

    monkeypatch.setattr(prover_mod, "prove", spy)
    res = _invoke(["zk", "prove", "--keys", str(keys), "--wtns", str(files / "w.wtns"), "--r1cs", str(files / "c.r1cs"),
                   "--proof", str(files / "lp.json"), "--public", str(files / "lpub.json"), "--prover", "reference"])
    assert res.exit_code == 0, res.output
    (w,) = seen
    assert isinstance(w, np.ndarray) and w.dtype == np.uint64 and w.shape == (6, 4)
    assert json.loads((files / "lpub.json").read_text()) == [str(3 * 16), "3"]
    res = _invoke(["zk", "verify", "--keys", str(keys), "--proof", str(files / "lp.json"), "--public", str(files / "lpub.json")])
    assert res.exit_code == 0 and "proof OK" in res.output


def test_prove_refuses_a_malformed_wtns(files: Path, keys: Path) -> None:
    from relayer.zk.field import Q, R
    from relayer.zk.formats.wtns_file import wtns_to_bytes

    good = (files / "w.wtns").read_bytes()
    n = len(good)
    too_big = bytearray(good)
    too_big[n - 32 :] = R.to_bytes(32, "little")  # the last wire set to r: not reduced
    other_prime = wtns_to_bytes([1, 48, 3, 4, 12, 48], prime=Q)
    for name, data, why in (("big.wtns", bytes(too_big), "witness value 5 is not reduced"),
                            ("cut.wtns", good[:-5], "truncated"),
                            ("q.wtns", other_prime, "expected the BN254 scalar field")):
        (files / name).write_bytes(data)
        res = _invoke(["zk", "prove", "--keys", str(keys), "--wtns", str(files / name), "--proof", str(files / "m.json"),
                       "--public", str(files / "mpub.json"), "--prover", "reference"])
        assert isinstance(res.exception, FormatError), res.output
        assert why in str(res.exception) and name in str(res.exception)
        assert not (files / "m.json").exists()


def test_prove_needs_exactly_one_key_source(files: Path, keys: Path) -> None:
    res = _invoke(["zk", "prove", "--wtns", str(files / "w.wtns"), "--proof", str(files / "x.json"),
                   "--public", str(files / "y.json"), "--prover", "reference"])
    assert isinstance(res.exception, ConfigError)


def test_contribute_changes_transcript_and_old_proof_stops_verifying(files: Path, keys: Path, proved: tuple[Path, Path]) -> None:
    out = files / "keys2"
    res = _invoke(["setup", "contribute", "--in", str(keys), "--out", str(out), "--name", "alice", "--entropy", "dice 4 6 1"])
    assert res.exit_code == 0, res.output
    new_hash = res.output.split("transcript hash:")[1].split()[0]
    old = json.loads((keys / "verifying_key.json").read_text())
    new = json.loads((out / "verifying_key.json").read_text())
    last = new["contributions"][-1]
    assert (last["phase"], last["name"], last["hash"]) == ("2", "alice", new_hash) and "delta" in last["pok"]
    assert new["contributions"][:-1] == old["contributions"]
    assert new["vk"]["vk_delta_2"] != old["vk"]["vk_delta_2"]
    res = _invoke(["setup", "verify", "--old", str(keys), "--new", str(out), "--backend", "reference"])
    assert res.exit_code == 0, res.output
    assert new_hash in res.output
    res = _invoke(["setup", "verify", "--old", str(out), "--new", str(keys), "--backend", "reference"])
    assert res.exception is not None and "exactly one contribution" in str(res.exception)
    proof, public = proved
    res = _invoke(["zk", "verify", "--keys", str(out), "--proof", str(proof), "--public", str(public)])
    assert isinstance(res.exception, VerificationError)
    res = _invoke(["zk", "prove", "--keys", str(out), "--wtns", str(files / "w.wtns"), "--proof", str(files / "p2.json"),
                   "--public", str(files / "pub2.json"), "--prover", "reference"])
    assert res.exit_code == 0, res.output
    res = _invoke(["zk", "verify", "--keys", str(out), "--proof", str(files / "p2.json"), "--public", str(files / "pub2.json")])
    assert res.exit_code == 0


def test_corrupt_key_rejected(files: Path, keys: Path) -> None:
    bad = files / "badkeys"
    bad.mkdir()
    for p in keys.iterdir():
        (bad / p.name).write_bytes(p.read_bytes())
    data = bytearray((bad / "proving_key.bin").read_bytes())
    data[-100] ^= 0xFF
    (bad / "proving_key.bin").write_bytes(bytes(data))
    res = _invoke(["zk", "prove", "--keys", str(bad), "--wtns", str(files / "w.wtns"), "--proof", str(files / "x.json"),
                   "--public", str(files / "y.json"), "--prover", "reference"])
    assert isinstance(res.exception, FormatError) and "checksum" in str(res.exception)


def test_export_verifier(files: Path, keys: Path) -> None:
    res = _invoke(["zk", "export-verifier", "--keys", str(keys), "--out", str(files / "sol")])
    assert res.exit_code == 0, res.output
    src = (files / "sol" / "Groth16Verifier.sol").read_text()
    deploy = json.loads((files / "sol" / "deploy.json").read_text())
    assert "contract" in src and deploy["nPublic"] == 2 and deploy["bytecode"].startswith("0x")


def test_ptau_ceremony_commands_then_setup(files: Path, tmp_path: Path) -> None:
    p0, p1 = tmp_path / "p0.bin", tmp_path / "p1.bin"
    assert _invoke(["setup", "ptau-new", "--power", "3", "--out", str(p0)]).exit_code == 0
    res = _invoke(["setup", "ptau-contribute", "--in", str(p0), "--out", str(p1), "--name", "bob"])
    assert res.exit_code == 0, res.output
    res = _invoke(["setup", "ptau-verify", "--old", str(p0), "--new", str(p1)])
    assert res.exit_code == 0 and "'bob' is valid" in res.output
    res = _invoke(["zk", "setup", "--r1cs", str(files / "c.r1cs"), "--out", str(tmp_path / "k"), "--ptau", str(p1)])
    assert res.exit_code == 0, res.output
    assert "not for production" not in res.output
    assert json.loads((tmp_path / "k" / "verifying_key.json").read_text())["dev"] is False


def test_real_command_exit_codes(files: Path, keys: Path, proved: tuple[Path, Path]) -> None:
    """Through `relayer.cli.main:main`: 0 on a good proof, the VerificationError code (5) otherwise."""
    proof, public = proved
    base = [sys.executable, "-m", "relayer.cli.main", "zk", "verify", "--keys", str(keys), "--proof", str(proof)]
    ok = subprocess.run([*base, "--public", str(public)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    (files / "other2.json").write_text(json.dumps(["1", "3"]))
    bad = subprocess.run([*base, "--public", str(files / "other2.json")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == VerificationError.exit_code
    assert "does NOT verify" in bad.stderr


def test_export_zkey_then_prove_with_it(files: Path, keys: Path) -> None:
    res = _invoke(["zk", "export-zkey", "--keys", str(keys), "--out", str(files / "k.zkey")])
    assert res.exit_code == 0, res.output
    res = _invoke(["zk", "prove", "--zkey", str(files / "k.zkey"), "--r1cs", str(files / "c.r1cs"), "--wtns", str(files / "w.wtns"),
                   "--proof", str(files / "zp.json"), "--public", str(files / "zpub.json"), "--prover", "reference"])
    assert res.exit_code == 0, res.output
    res = _invoke(["zk", "verify", "--keys", str(keys), "--proof", str(files / "zp.json"), "--public", str(files / "zpub.json")])
    assert res.exit_code == 0 and "proof OK" in res.output
