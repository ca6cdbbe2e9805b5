"""Proofs made by the gpu backend on a real GPU, judged here by the three verifiers the device lacks.

tests/vectors/gpu_proofs_h100.json is the file `python -m relayer.bench.gpu_proofs` wrote on the
device machine (scripts/device-gpu-check; the run is in bench-results/gpu-h100/). Each proof is of
the solvency circuit about a statement the file names (capacity, book seed, chain context); here its
public signals are recomputed from that statement on the cpu, and the proof must be accepted by the
Python verifier, by snarkjs and by the Solidity verifier on Anvil, and refused by each of them once a
public signal or the proof is altered.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from relayer.bench.gpu_proofs import CASES, rebuild, statement
from relayer.circuits.solvency import expected_public
from relayer.tools import snarkjs_cmd
from relayer.zk import solidity as S
from relayer.zk.field import R
from relayer.zk.formats.snarkjs_json import proof_from_json, public_from_json, vk_from_json
from relayer.zk.groth16.types import Proof
from relayer.zk.groth16.verifier import verify

VECTORS = Path(__file__).parent / "vectors" / "gpu_proofs_h100.json"
NAMES = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def made() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


def _case(made: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in made["proofs"] if p["name"] == name)


def _altered_public(pub: list[int]) -> list[int]:
    # the liabilities total (index 6) one unit higher: the statement a cheating venue would want
    return [*pub[:6], (pub[6] + 1) % R, *pub[7:]]


def _altered_proof(proof: Proof) -> Proof:
    # C replaced by C + A: still a point on the curve, not the proof
    from py_ecc import optimized_bn128 as bn

    a = (bn.FQ(proof.a[0]), bn.FQ(proof.a[1]), bn.FQ(1))
    c = (bn.FQ(proof.c[0]), bn.FQ(proof.c[1]), bn.FQ(1))
    x, y = bn.normalize(bn.add(a, c))
    return Proof(proof.a, proof.b, (int(x.n), int(y.n)))


def test_the_file_was_made_on_a_gpu_for_these_statements(made: dict[str, Any]) -> None:
    assert made["dry_run"] is False and made["errors"] == []
    assert made["machine"]["gpu_backend"].startswith("gpu: NVIDIA"), made["machine"]["gpu_backend"]
    assert "NVIDIA" in made["machine"]["gpu"]
    assert [p["name"] for p in made["proofs"]] == NAMES
    for (name, cap, n, seed), p in zip(CASES, made["proofs"]):
        assert {k: p[k] for k in ("name", "capacity", "book", "context")} == statement(name, cap, n, seed)
        assert p["backend"].startswith("gpu: NVIDIA") and p["verified_on_device"] is True


@pytest.mark.parametrize("name", NAMES)
def test_public_signals_are_the_statement_recomputed_on_the_cpu(made: dict[str, Any], name: str) -> None:
    p = _case(made, name)
    sc, ctx, book, market = rebuild(p)
    assert sc.circuit.n_constraints == p["constraints"]
    assert public_from_json(p["public"]) == expected_public(ctx, book, market, sc.cap)


@pytest.mark.parametrize("name", NAMES)
def test_python_verifier(made: dict[str, Any], name: str) -> None:
    p = _case(made, name)
    vk, proof, pub = vk_from_json(p["vk"]), proof_from_json(p["proof"]), public_from_json(p["public"])
    assert verify(vk, pub, proof)
    assert not verify(vk, _altered_public(pub), proof)
    assert not verify(vk, pub, _altered_proof(proof))


def _snarkjs_verifies(d: Path, vk: Any, public: Any, proof: Any) -> bool:
    for f, obj in (("vk.json", vk), ("public.json", public), ("proof.json", proof)):
        (d / f).write_text(json.dumps(obj))
    res = subprocess.run([*snarkjs_cmd(), "groth16", "verify", "vk.json", "public.json", "proof.json"],
                         cwd=d, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    if res.returncode == 0 and "OK" in res.stdout:
        return True
    assert "Invalid proof" in out, f"snarkjs did not judge (exit {res.returncode}):\n{out}"
    return False


@pytest.mark.parametrize("name", NAMES)
def test_snarkjs(made: dict[str, Any], name: str, tmp_path: Path) -> None:
    from relayer.zk.formats.snarkjs_json import proof_to_json, public_to_json

    p = _case(made, name)
    assert _snarkjs_verifies(tmp_path, p["vk"], p["public"], p["proof"])
    pub = public_from_json(p["public"])
    assert not _snarkjs_verifies(tmp_path, p["vk"], public_to_json(_altered_public(pub)), p["proof"])
    bad = proof_to_json(_altered_proof(proof_from_json(p["proof"])))
    assert not _snarkjs_verifies(tmp_path, p["vk"], p["public"], bad)


@pytest.mark.anvil
@pytest.mark.parametrize("name", NAMES)
def test_solidity_verifier_on_anvil(made: dict[str, Any], name: str, anvil: Any) -> None:
    p = _case(made, name)
    vk, proof, pub = vk_from_json(p["vk"]), proof_from_json(p["proof"]), public_from_json(p["public"])
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))
    c = S.verifier_contract(w3, S.deploy_verifier(w3, vk))
    assert c.functions.verifyProof(S.encode_proof(proof), pub).call() is True
    assert c.functions.verifyProof(S.encode_proof(proof), _altered_public(pub)).call() is False
    assert c.functions.verifyProof(S.encode_proof(_altered_proof(proof)), pub).call() is False
