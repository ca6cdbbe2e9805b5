"""Our proving key written as a snarkjs .zkey: read back identically, and snarkjs proves with it."""

import json
import subprocess

import pytest

from relayer.tools import snarkjs_cmd
from relayer.zk.examples import make_bench_circuit
from relayer.zk.formats.snarkjs_json import read_proof_json, read_public_json
from relayer.zk.formats.wtns_file import write_wtns
from relayer.zk.formats.zkey_file import read_zkey
from relayer.zk.formats.zkey_write import write_zkey
from relayer.zk.groth16.setup import dev_setup
from relayer.zk.groth16.verifier import verify


@pytest.fixture(scope="module")
def key_and_witness():
    bc = make_bench_circuit(60)
    r1cs = bc.circuit.compile()
    return dev_setup(r1cs, backend="cpu"), bc.circuit.witness(bc.inputs)


def test_zkey_round_trip(tmp_path, key_and_witness):
    pk, _ = key_and_witness
    write_zkey(tmp_path / "k.zkey", pk)
    back = read_zkey(tmp_path / "k.zkey")
    assert back.vk == pk.vk
    assert back.beta_g1 == pk.beta_g1 and back.delta_g1 == pk.delta_g1
    for name in ("a_query", "b1_query", "b2_query", "c_query", "h_query"):
        assert (getattr(back, name) == getattr(pk, name)).all(), name
    assert back.qap.domain_size == pk.qap.domain_size
    assert [c for c in pk.qap.coeffs if c[0] < 2] == list(back.qap.coeffs)


def test_snarkjs_proves_with_our_key(tmp_path, key_and_witness):
    pk, witness = key_and_witness
    write_zkey(tmp_path / "k.zkey", pk)
    write_wtns(tmp_path / "w.wtns", witness)
    run = lambda *a: subprocess.run(snarkjs_cmd() + list(a), capture_output=True, text=True, timeout=300)  # noqa: E731
    r = run("groth16", "prove", str(tmp_path / "k.zkey"), str(tmp_path / "w.wtns"),
            str(tmp_path / "proof.json"), str(tmp_path / "public.json"))
    assert r.returncode == 0, r.stderr
    proof = read_proof_json(tmp_path / "proof.json")
    public = read_public_json(tmp_path / "public.json")
    assert public == witness[1 : 1 + pk.n_public]
    # snarkjs's proof under our key verifies with our verifier ...
    assert verify(pk.vk, public, proof)
    # ... and not for other public inputs
    assert not verify(pk.vk, [public[0] + 1, *public[1:]], proof)
    # snarkjs's exported vk equals ours
    r = run("zkey", "export", "verificationkey", str(tmp_path / "k.zkey"), str(tmp_path / "vk.json"))
    assert r.returncode == 0, r.stderr
    vk = json.loads((tmp_path / "vk.json").read_text())
    assert int(vk["vk_alpha_1"][0]) == pk.vk.alpha_g1[0]
    assert len(vk["IC"]) == pk.n_public + 1
