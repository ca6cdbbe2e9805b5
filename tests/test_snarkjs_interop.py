"""Interop with the external judges: circom compiles, snarkjs sets up / proves / verifies, we read it all.

One module fixture builds a small circom circuit, its witness (`snarkjs wtns calculate`), a power-5
powers of tau with one contribution, and a Groth16 zkey with one phase-2 contribution.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from relayer.errors import FormatError, ToolError
from relayer.tools import circom_cmd, snarkjs_cmd
from relayer.zk.backends import get_backend
from relayer.zk.formats.r1cs_file import read_r1cs, write_r1cs
from relayer.zk.curve import g1_mul
from relayer.zk.field import R
from relayer.zk.formats.snarkjs_json import (
    alphabeta_12,
    read_proof_json,
    read_public_json,
    read_vk_json,
    vk_from_json,
    vk_to_json,
    write_proof_json,
    write_public_json,
    write_vk_json,
)
from relayer.zk.formats.wtns_file import read_wtns, write_wtns
from relayer.zk.formats.zkey_file import read_snarkjs_ptau, read_zkey
from relayer.zk.groth16 import qap as qapmod
from relayer.zk.groth16.prover import prove
from relayer.zk.groth16.setup import ceremony_setup, dev_setup, phase2_new
from relayer.zk.groth16.verifier import verify

CIRCOM_SRC = """pragma circom 2.0.0;
template T(n) {
    signal input a;
    signal input b[n];
    signal input c;
    signal output out;
    signal output sq;
    signal acc[n + 1];
    acc[0] <== a;
    for (var i = 0; i < n; i++) {
        acc[i + 1] <== acc[i] * b[i] + 5;
    }
    out <== acc[n] * c;
    sq <== c * c;
}
component main {public [a, c]} = T(4);
"""
INPUT = {"a": "3", "b": ["2", "7", "11", "13"], "c": "17"}


def _run(cmd: list[str], cwd: Path) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[1:3])} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res.stdout


def _snarkjs(d: Path, *args: str) -> str:
    return _run([*snarkjs_cmd(), *args], d)


def _snarkjs_verifies(d: Path, vk: Path, public: Path, proof: Path) -> bool:
    res = subprocess.run([*snarkjs_cmd(), "groth16", "verify", str(vk), str(public), str(proof)],
                         cwd=d, capture_output=True, text=True, timeout=300)
    ok = res.returncode == 0 and "OK" in res.stdout
    if not ok:
        assert "Invalid proof" in res.stdout + res.stderr or res.returncode != 0
    return ok


@pytest.fixture(scope="module")
def art(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        snarkjs_cmd()
        circom_cmd()
    except ToolError as exc:
        pytest.fail(f"snarkjs/circom not installed (run scripts/bootstrap): {exc}")
    d = tmp_path_factory.mktemp("circom")
    (d / "t.circom").write_text(CIRCOM_SRC)
    (d / "input.json").write_text(json.dumps(INPUT))
    _run([*circom_cmd(), "t.circom", "--r1cs", "--wasm", "-o", "."], d)
    _snarkjs(d, "wtns", "calculate", "t_js/t.wasm", "input.json", "t.wtns")
    _snarkjs(d, "powersoftau", "new", "bn128", "5", "p0.ptau")
    _snarkjs(d, "powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=one", "-e=interop test entropy")
    _snarkjs(d, "powersoftau", "prepare", "phase2", "p1.ptau", "pf.ptau")
    _snarkjs(d, "groth16", "setup", "t.r1cs", "pf.ptau", "t0.zkey")
    _snarkjs(d, "zkey", "contribute", "t0.zkey", "t1.zkey", "--name=two", "-e=more entropy")
    _snarkjs(d, "zkey", "export", "verificationkey", "t1.zkey", "vk.json")
    _snarkjs(d, "groth16", "prove", "t1.zkey", "t.wtns", "sj_proof.json", "sj_public.json")
    return d


@pytest.fixture(scope="module")
def backend():  # type: ignore[no-untyped-def]
    return get_backend("reference")


def test_zkey_reader_matches_r1cs_and_snarkjs_vk(art: Path) -> None:
    pk = read_zkey(art / "t1.zkey")
    r1cs = read_r1cs(art / "t.r1cs")
    q = qapmod.from_r1cs(r1cs)
    # section 4 (Montgomery-encoded) = our A/B coefficients incl. the public binding rows
    assert sorted(c for c in q.coeffs if c[0] < 2) == sorted(pk.qap.coeffs)
    assert (pk.qap.n_constraints, pk.qap.domain_size, pk.n_public) == (q.n_constraints, q.domain_size, 4)
    assert pk.vk == read_vk_json(art / "vk.json")
    assert [c["name"] for c in pk.contributions][-1] == "two"
    # our export of their key is theirs, e(alpha, beta) included
    theirs = json.loads((art / "vk.json").read_text())
    ours = vk_to_json(pk.vk)
    for k in ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC", "nPublic", "vk_alphabeta_12"):
        assert ours[k] == theirs[k], k


def test_our_phase2_from_snarkjs_ptau_equals_snarkjs_setup(art: Path) -> None:
    r1cs = read_r1cs(art / "t.r1cs")
    n = qapmod.from_r1cs(r1cs).domain_size
    ours = phase2_new(r1cs, read_snarkjs_ptau(art / "pf.ptau", n))
    theirs = read_zkey(art / "t0.zkey")
    assert ours.vk == theirs.vk and ours.beta_g1 == theirs.beta_g1 and ours.delta_g1 == theirs.delta_g1
    for name in ("a_query", "b1_query", "b2_query", "c_query", "h_query"):
        assert (getattr(ours, name) == getattr(theirs, name)).all(), name


def test_circom_circuit_proven_with_snarkjs_zkey_verified_by_snarkjs(art: Path, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pk = read_zkey(art / "t1.zkey")
    w = read_wtns(art / "t.wtns")
    proof, public = prove(pk, w, backend, r1cs=read_r1cs(art / "t.r1cs"))
    assert public == read_public_json(art / "sj_public.json")
    write_proof_json(tmp_path / "proof.json", proof)
    write_public_json(tmp_path / "public.json", public)
    assert _snarkjs_verifies(art, art / "vk.json", tmp_path / "public.json", tmp_path / "proof.json")
    # the judge is not vacuous: other public signals are refused by snarkjs too
    write_public_json(tmp_path / "bad.json", [public[0] + 1, *public[1:]])
    assert not _snarkjs_verifies(art, art / "vk.json", tmp_path / "bad.json", tmp_path / "proof.json")


def test_circom_circuit_proven_with_our_dev_setup_verified_by_snarkjs(art: Path, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r1cs = read_r1cs(art / "t.r1cs")
    pk = dev_setup(r1cs, backend)
    proof, public = prove(pk, read_wtns(art / "t.wtns"), backend, r1cs=r1cs)
    write_vk_json(tmp_path / "vk.json", pk.vk)
    write_proof_json(tmp_path / "proof.json", proof)
    write_public_json(tmp_path / "public.json", public)
    assert _snarkjs_verifies(art, tmp_path / "vk.json", tmp_path / "public.json", tmp_path / "proof.json")
    # and with a key that is not the proof's, snarkjs says no
    assert not _snarkjs_verifies(art, art / "vk.json", tmp_path / "public.json", tmp_path / "proof.json")


def test_ceremony_from_snarkjs_ptau_verified_by_snarkjs(art: Path, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r1cs = read_r1cs(art / "t.r1cs")
    basis = read_snarkjs_ptau(art / "pf.ptau", qapmod.from_r1cs(r1cs).domain_size)
    pk = ceremony_setup(r1cs, basis, contributions=1)
    assert not pk.dev
    proof, public = prove(pk, read_wtns(art / "t.wtns"), backend)
    write_vk_json(tmp_path / "vk.json", pk.vk)
    write_proof_json(tmp_path / "proof.json", proof)
    write_public_json(tmp_path / "public.json", public)
    assert _snarkjs_verifies(art, tmp_path / "vk.json", tmp_path / "public.json", tmp_path / "proof.json")


def test_snarkjs_proof_verified_by_us(art: Path) -> None:
    vk = read_vk_json(art / "vk.json")
    proof = read_proof_json(art / "sj_proof.json")
    public = read_public_json(art / "sj_public.json")
    assert verify(vk, public, proof)
    assert not verify(vk, [*public[:-1], public[-1] + 1], proof)


def test_our_circuit_files_are_accepted_by_snarkjs(art: Path, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Our R1CS/witness written as .r1cs/.wtns: snarkjs checks the witness, sets up, proves; we verify."""
    from relayer.zk.circuit import Circuit

    c = Circuit("ours")
    x = c.public_input("x")
    y = c.private_input("y")
    t = c.mul(x, y, "t")
    c.output("out", c.mul(t, t, "u") + y)
    r1cs = c.compile()
    w = c.witness({"x": 4, "y": 9})
    write_r1cs(tmp_path / "o.r1cs", r1cs)
    write_wtns(tmp_path / "o.wtns", w)
    _snarkjs(tmp_path, "wtns", "check", "o.r1cs", "o.wtns")
    _snarkjs(tmp_path, "groth16", "setup", "o.r1cs", str(art / "pf.ptau"), "o0.zkey")
    _snarkjs(tmp_path, "zkey", "contribute", "o0.zkey", "o1.zkey", "--name=x", "-e=y")
    _snarkjs(tmp_path, "zkey", "export", "verificationkey", "o1.zkey", "ovk.json")
    _snarkjs(tmp_path, "groth16", "prove", "o1.zkey", "o.wtns", "p.json", "pub.json")
    assert verify(read_vk_json(tmp_path / "ovk.json"), read_public_json(tmp_path / "pub.json"),
                  read_proof_json(tmp_path / "p.json"))
    # and our prover with their key on our witness
    proof, public = prove(read_zkey(tmp_path / "o1.zkey"), w, backend, r1cs=r1cs)
    assert public == [4 * 4 * 9 * 9 + 9, 4]
    write_proof_json(tmp_path / "op.json", proof)
    write_public_json(tmp_path / "opub.json", public)
    assert _snarkjs_verifies(tmp_path, tmp_path / "ovk.json", tmp_path / "opub.json", tmp_path / "op.json")


def test_corrupt_snarkjs_files_rejected(art: Path, tmp_path: Path) -> None:
    data = (art / "t1.zkey").read_bytes()
    (tmp_path / "trunc.zkey").write_bytes(data[: len(data) - 40])
    with pytest.raises(FormatError):
        read_zkey(tmp_path / "trunc.zkey")
    (tmp_path / "magic.zkey").write_bytes(b"r1cs" + data[4:])
    with pytest.raises(FormatError, match="not a zkey"):
        read_zkey(tmp_path / "magic.zkey")
    # a coordinate changed inside the A section: no longer on the curve
    pk_bytes = bytearray(data)
    idx = pk_bytes.find(bytes(read_zkey_section(art / "t1.zkey", 5))[:64])
    pk_bytes[idx + 5] ^= 0x10
    (tmp_path / "point.zkey").write_bytes(bytes(pk_bytes))
    with pytest.raises(FormatError, match="not on the BN254"):
        read_zkey(tmp_path / "point.zkey")
    with pytest.raises(FormatError, match="not prepared"):
        read_snarkjs_ptau(art / "p1.ptau", 16)
    with pytest.raises(FormatError, match="covers domains up to"):
        read_snarkjs_ptau(art / "pf.ptau", 64)
    bad = json.loads((art / "vk.json").read_text())
    bad["IC"] = bad["IC"][:-1]
    (tmp_path / "vk.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match="nPublic"):
        read_vk_json(tmp_path / "vk.json")
    (tmp_path / "pub.json").write_text(json.dumps([str(2**254)]))
    with pytest.raises(FormatError):
        read_public_json(tmp_path / "pub.json")


def read_zkey_section(path: Path, stype: int) -> memoryview:
    from relayer.zk.formats.binfile import read_container

    return read_container(path, "zkey", 1).section(stype)


def test_tools_present() -> None:
    """The judges must be installed where the bootstrap puts them (not skipped silently in CI)."""
    assert shutil.which("node"), "node is required for snarkjs/circom interop"
    assert Path(snarkjs_cmd()[1]).exists() and Path(circom_cmd()[1]).exists()


def test_bad_witness_with_snarkjs_zkey_is_refused(art: Path, backend) -> None:  # type: ignore[no-untyped-def]
    """A .zkey has no C matrix: with the .r1cs the failing constraint is named, without it the
    local verification still refuses to hand out the proof."""
    from relayer.errors import UnsatisfiedConstraint, VerificationError

    pk = read_zkey(art / "t1.zkey")
    w = read_wtns(art / "t.wtns")
    bad = list(w)
    bad[-1] = (bad[-1] + 1) % (1 << 253)  # an internal signal
    with pytest.raises(UnsatisfiedConstraint, match="not satisfied"):
        prove(pk, bad, backend, r1cs=read_r1cs(art / "t.r1cs"))
    with pytest.raises(VerificationError):
        prove(pk, bad, backend)


def test_our_key_written_as_zkey_is_used_by_snarkjs(art: Path, backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Our (ceremony) key → .zkey: snarkjs exports the same verification key, proves with it,
    and both verifiers accept; reading it back gives our key."""
    from relayer.zk.formats.zkey_file import write_zkey

    r1cs = read_r1cs(art / "t.r1cs")
    pk = ceremony_setup(r1cs, read_snarkjs_ptau(art / "pf.ptau", qapmod.from_r1cs(r1cs).domain_size), contributions=1)
    write_zkey(tmp_path / "ours.zkey", pk)
    back = read_zkey(tmp_path / "ours.zkey")
    assert back.vk == pk.vk and back.delta_g1 == pk.delta_g1 and back.qap.coeffs == tuple(c for c in pk.qap.coeffs if c[0] < 2)
    assert (back.h_query == pk.h_query).all() and (back.b2_query == pk.b2_query).all()
    _snarkjs(tmp_path, "zkey", "export", "verificationkey", "ours.zkey", "sj_vk.json")
    sj_vk = json.loads((tmp_path / "sj_vk.json").read_text())
    assert read_vk_json(tmp_path / "sj_vk.json") == pk.vk
    assert sj_vk["vk_alphabeta_12"] == vk_to_json(pk.vk)["vk_alphabeta_12"]
    _snarkjs(tmp_path, "groth16", "prove", "ours.zkey", str(art / "t.wtns"), "p.json", "pub.json")
    write_vk_json(tmp_path / "vk.json", pk.vk)
    assert _snarkjs_verifies(tmp_path, tmp_path / "vk.json", tmp_path / "pub.json", tmp_path / "p.json")
    assert verify(pk.vk, read_public_json(tmp_path / "pub.json"), read_proof_json(tmp_path / "p.json"))


# --- vk_alphabeta_12: the fast pairing against snarkjs's stored value and against py_ecc ---------
_VECTORS = Path(__file__).parent / "vectors" / "groth16_snarkjs.json"


def _alphabeta_py_ecc(vk) -> list[list[list[str]]]:  # type: ignore[no-untyped-def]
    """The same value with py_ecc's pairing (seconds), as an independent oracle.

    py_ecc's Fq12 is Fq[w]/(w¹² − 18w⁶ + 82) with w⁶ = 9 + u, the same w as the tower, so the tower
    coefficient of v^j w^i (a + b·u, k = 2j + i) is a = p[k] + 9·p[k+6], b = p[k+6]; snarkjs stores
    e^m with m = 2z(6z² + 3z + 1), z the BN parameter."""
    from py_ecc.optimized_bn128 import pairing

    from relayer.zk.curve import to_py_ecc_g1, to_py_ecc_g2
    from relayer.zk.field import Q

    z = 4965661367192848881
    m = 2 * z * (6 * z * z + 3 * z + 1)
    p = [int(c) for c in (pairing(to_py_ecc_g2(vk.beta_g2), to_py_ecc_g1(vk.alpha_g1)) ** (m % R)).coeffs]
    return [[[str((p[2 * j + i] + 9 * p[2 * j + i + 6]) % Q), str(p[2 * j + i + 6])] for j in range(3)] for i in range(2)]


def test_alphabeta_equals_snarkjs_and_py_ecc() -> None:
    doc = json.loads(_VECTORS.read_text())["verification_key"]
    vk = vk_from_json(doc)
    ours = alphabeta_12(vk)
    assert ours == doc["vk_alphabeta_12"]  # snarkjs's own number for this key
    assert ours == _alphabeta_py_ecc(vk)
    # another key gives another value (the layout is not read off the input)
    other = dataclasses.replace(vk, alpha_g1=g1_mul(vk.alpha_g1, 2))
    assert alphabeta_12(other) != ours
    assert alphabeta_12(other) == _alphabeta_py_ecc(other)


def test_alphabeta_rejects_infinity_and_off_curve_points() -> None:
    vk = vk_from_json(json.loads(_VECTORS.read_text())["verification_key"])
    with pytest.raises(FormatError, match="infinity"):
        alphabeta_12(dataclasses.replace(vk, alpha_g1=None))
    with pytest.raises(FormatError, match="infinity"):
        alphabeta_12(dataclasses.replace(vk, beta_g2=None))
    with pytest.raises(FormatError, match="not curve points"):
        alphabeta_12(dataclasses.replace(vk, alpha_g1=(1, 3)))
