"""Groth16 setup/prove/verify: proofs verify, and every kind of bad proof, input or key is rejected."""

from __future__ import annotations

import dataclasses
import json

import pytest

from relayer.errors import FormatError, ProverError, UnsatisfiedConstraint, VerificationError
from relayer.zk.backends import get_backend
from relayer.zk.circuit import Circuit
from relayer.zk.curve import G1_GEN, G2_GEN, g1_add, g1_mul, g2_mul
from relayer.zk.field import Q, R, g1_to_array
from relayer.zk.groth16 import qap as qapmod
from relayer.zk.groth16.keys import (
    PK_FILE,
    SNARKJS_VK_FILE,
    VK_FILE,
    load_proving_key,
    load_verifying_key,
    save_keys,
)
from relayer.zk.groth16.prover import prove
from relayer.zk.groth16.setup import (
    ceremony_setup,
    dev_setup,
    phase1_contribute,
    phase1_new,
    phase1_verify,
    phase2_contribute,
    phase2_new,
)
from relayer.zk.groth16.types import Proof
from relayer.zk.groth16.verifier import batch_coefficients, verify, verify_batch


def _circuit() -> Circuit:
    """out = x·y²·z + x with x public: 3 constraints, 1 output + 1 public input."""
    c = Circuit("g16")
    x = c.public_input("x")
    y = c.private_input("y")
    z = c.private_input("z")
    t = c.mul(x, y, "t")
    u = c.mul(t, y, "u")
    v = c.mul(u, z, "v")
    c.output("out", v + x)
    return c


@pytest.fixture(scope="module")
def circuit() -> Circuit:
    return _circuit()


@pytest.fixture(scope="module")
def backend():  # type: ignore[no-untyped-def]
    return get_backend("reference")


@pytest.fixture(scope="module")
def pk(circuit, backend):  # type: ignore[no-untyped-def]
    return dev_setup(circuit.compile(), backend)


@pytest.fixture(scope="module")
def proved(pk, circuit, backend):  # type: ignore[no-untyped-def]
    w = circuit.witness({"x": 3, "y": 5, "z": 7})
    return prove(pk, w, backend, r1cs=circuit.compile())


def test_dev_setup_is_labeled_and_proof_verifies(pk, proved) -> None:  # type: ignore[no-untyped-def]
    proof, public = proved
    assert pk.dev is True
    assert pk.contributions[0]["phase"] == "dev"
    assert public == [3 * 25 * 7 + 3, 3]
    assert verify(pk.vk, public, proof)


def test_qap_has_public_binding_rows_and_snarkjs_domain(circuit) -> None:  # type: ignore[no-untyped-def]
    r1cs = circuit.compile()
    q = qapmod.from_r1cs(r1cs)
    m, npub = r1cs.n_constraints, r1cs.n_public
    binding = [c for c in q.coeffs if c[0] == 0 and c[1] >= m]
    assert binding == [(0, m + s, s, 1) for s in range(npub + 1)]
    assert q.domain_size == 8  # smallest power of two >= 3 + 2 + 1
    assert qapmod.domain_size_for(5, 2) == 8 and qapmod.domain_size_for(6, 2) == 16


def test_h_query_identity(circuit) -> None:  # type: ignore[no-untyped-def]
    """Σ_j d_j L^{2n}_{2j+1}(τ) = A(τ)B(τ) − C(τ): the identity the H query relies on."""
    r1cs = circuit.compile()
    q = qapmod.from_r1cs(r1cs)
    w = circuit.witness({"x": 2, "y": 9, "z": 4})
    a, b, c = qapmod.evaluate(q, w)
    be = get_backend("reference")
    from relayer.zk.field import ints_to_limbs, limbs_to_ints

    n = q.domain_size
    d = limbs_to_ints(be.compute_h(ints_to_limbs(a), ints_to_limbs(b), ints_to_limbs(c)))
    tau = 123456789
    hl = qapmod.h_lagrange_at(tau, n)
    lag = qapmod.lagrange_at(tau, n)
    at = sum(x * y for x, y in zip(a, lag)) % R
    bt = sum(x * y for x, y in zip(b, lag)) % R
    ct = sum(x * y for x, y in zip(c, lag)) % R
    assert sum(x * y for x, y in zip(d, hl)) % R == (at * bt - ct) % R


def test_proof_for_other_public_inputs_rejected(pk, proved) -> None:  # type: ignore[no-untyped-def]
    proof, public = proved
    assert not verify(pk.vk, [public[0] + 1, public[1]], proof)
    assert not verify(pk.vk, [public[0], public[1] - 1], proof)
    assert not verify(pk.vk, public[:1], proof)  # wrong count


def test_public_input_plus_r_rejected(pk, proved) -> None:  # type: ignore[no-untyped-def]
    proof, public = proved
    assert not verify(pk.vk, [public[0] + R, public[1]], proof)
    assert not verify(pk.vk, [public[0], -public[1] % R - R], proof)


@pytest.mark.parametrize("part", ["a", "b", "c"])
def test_tampered_proof_rejected(pk, proved, part) -> None:  # type: ignore[no-untyped-def]
    proof, public = proved
    if part == "a":
        bad = dataclasses.replace(proof, a=g1_add(proof.a, G1_GEN))
    elif part == "b":
        bad = dataclasses.replace(proof, b=g2_mul(proof.b, 2))
    else:
        bad = dataclasses.replace(proof, c=g1_add(proof.c, G1_GEN))
    assert not verify(pk.vk, public, bad)


def test_points_off_curve_or_outside_subgroup_rejected(pk, proved) -> None:  # type: ignore[no-untyped-def]
    proof, public = proved
    assert not verify(pk.vk, public, dataclasses.replace(proof, a=(proof.a[0], (proof.a[1] + 1) % Q)))
    assert not verify(pk.vk, public, dataclasses.replace(proof, c=(proof.c[0] + Q, proof.c[1])))
    # a point on the twist but outside the order-r subgroup
    from curve_helpers import first_twist_point

    from relayer.zk.curve import G2

    pt = first_twist_point()
    assert G2.is_on_curve(pt) and not G2.in_subgroup(pt)
    assert not verify(pk.vk, public, dataclasses.replace(proof, b=pt))


def test_wrong_verifying_key_rejected(circuit, backend, proved) -> None:  # type: ignore[no-untyped-def]
    proof, public = proved
    other = dev_setup(circuit.compile(), backend)
    assert not verify(other.vk, public, proof)


def test_batch_verification(pk, circuit, backend, proved) -> None:  # type: ignore[no-untyped-def]
    proof1, pub1 = proved
    proof2, pub2 = prove(pk, circuit.witness({"x": 11, "y": 2, "z": 5}), backend)
    assert verify_batch(pk.vk, [(pub1, proof1), (pub2, proof2)])
    # one bad proof (or swapped inputs) sinks the batch
    assert not verify_batch(pk.vk, [(pub1, proof1), (pub1, proof2)])
    assert not verify_batch(pk.vk, [(pub1, dataclasses.replace(proof1, c=g1_add(proof1.c, G1_GEN))), (pub2, proof2)])
    assert not verify_batch(pk.vk, [(pub1, proof1), ([pub2[0] + R, pub2[1]], proof2)])
    # two errors that cancel with equal weights must not pass: ρ is bound to the proofs
    delta = g1_mul(G1_GEN, 77)
    forged = [(pub1, dataclasses.replace(proof1, c=g1_add(proof1.c, delta))),
              (pub2, dataclasses.replace(proof2, c=g1_add(proof2.c, g1_mul(delta, R - 1))))]
    assert not verify_batch(pk.vk, forged)
    with pytest.raises(ProverError):
        verify_batch(pk.vk, [])


def test_batch_coefficients_are_fiat_shamir_bound(pk, proved) -> None:  # type: ignore[no-untyped-def]
    proof, public = proved
    rhos = batch_coefficients(pk.vk, [(public, proof)] * 3)
    assert rhos[0] == 1 and len(set(rhos)) == 3 and all(0 < x < R for x in rhos)
    assert batch_coefficients(pk.vk, [(public, proof)] * 3) == rhos  # Fiat-Shamir: deterministic
    # ... and bound to every input: one changed public input changes every coefficient after the first
    other = [public[0] ^ 1, *public[1:]]
    moved = batch_coefficients(pk.vk, [(public, proof), (other, proof), (public, proof)])
    assert moved[0] == 1 and all(a != b for a, b in zip(moved[1:], rhos[1:]))
    # (the contract derives its own weights the same way, Groth16VerifierBase.sol; they are not observable
    # from outside, so test_solidity_verifier checks their effect: errors that cancel unweighted are caught)


def test_unsatisfied_witness_is_refused_before_proving(pk, circuit, backend) -> None:  # type: ignore[no-untyped-def]
    w = circuit.witness({"x": 3, "y": 5, "z": 7})
    bad = circuit.tamper(w, {"u": 1})
    with pytest.raises(UnsatisfiedConstraint, match="not satisfied"):
        prove(pk, bad, backend, r1cs=circuit.compile())
    with pytest.raises(UnsatisfiedConstraint, match=r"constraint #"):
        prove(pk, bad, backend)  # checked against the key's own coefficients
    with pytest.raises(UnsatisfiedConstraint):
        prove(pk, w[:-1], backend)
    with pytest.raises(UnsatisfiedConstraint):
        prove(pk, [w[0], w[1] + R, *w[2:]], backend)


def test_prover_refuses_to_return_a_proof_that_does_not_verify(pk, circuit, backend) -> None:  # type: ignore[no-untyped-def]
    # proving key and verifying key from different setups: the local check must catch it
    other = dev_setup(circuit.compile(), backend)
    mixed = dataclasses.replace(pk, vk=other.vk, prepared={})
    with pytest.raises(VerificationError):
        prove(mixed, circuit.witness({"x": 1, "y": 1, "z": 1}), backend)


def test_bases_are_prepared_once_per_key(pk, circuit, backend) -> None:  # type: ignore[no-untyped-def]
    prove(pk, circuit.witness({"x": 2, "y": 3, "z": 4}), backend)
    handles = pk.prepared[backend.name]
    prove(pk, circuit.witness({"x": 5, "y": 3, "z": 4}), backend)
    assert pk.prepared[backend.name] is handles


def test_timings_are_reported(pk, circuit, backend) -> None:  # type: ignore[no-untyped-def]
    t: dict[str, float] = {}
    prove(pk, circuit.witness({"x": 2, "y": 3, "z": 4}), backend, timings=t)
    assert {"check", "qap", "h", "msm_a", "msm_b2", "msm_h", "verify"} <= set(t)
    assert all(v >= 0 for v in t.values())


def test_key_files_roundtrip_and_checksum(pk, circuit, backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_keys(tmp_path, pk)
    pk2 = load_proving_key(tmp_path)
    vk2, dev, contribs = load_verifying_key(tmp_path)
    assert vk2 == pk.vk and dev is True and contribs == pk.contributions
    assert pk2.vk == pk.vk and pk2.qap == pk.qap and pk2.dev
    assert (pk2.h_query == pk.h_query).all() and (pk2.b2_query == pk.b2_query).all()
    proof, public = prove(pk2, circuit.witness({"x": 4, "y": 4, "z": 4}), backend)
    assert verify(vk2, public, proof)
    snark = json.loads((tmp_path / SNARKJS_VK_FILE).read_text())
    assert snark["protocol"] == "groth16" and snark["curve"] == "bn128" and snark["nPublic"] == 2

    # one flipped bit anywhere in the proving key → FormatError
    data = bytearray((tmp_path / PK_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / PK_FILE).write_bytes(bytes(data))
    with pytest.raises(FormatError, match="checksum"):
        load_proving_key(tmp_path)
    # an edited verifying key (a point swapped, checksum not updated) → FormatError
    body = json.loads((tmp_path / VK_FILE).read_text())
    body["vk"]["IC"][0], body["vk"]["IC"][1] = body["vk"]["IC"][1], body["vk"]["IC"][0]
    (tmp_path / VK_FILE).write_text(json.dumps(body))
    with pytest.raises(FormatError, match="checksum"):
        load_verifying_key(tmp_path)
    # the dev label cannot be removed without breaking the checksum
    body = json.loads((tmp_path / SNARKJS_VK_FILE).read_text())
    (tmp_path / VK_FILE).write_text(json.dumps({"format": "relayer-groth16-vk", "version": 1, "dev": False,
                                                "contributions": [], "vk": body, "sha256": "00"}))
    with pytest.raises(FormatError, match="checksum"):
        load_verifying_key(tmp_path)


def test_truncated_key_file_rejected(pk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_keys(tmp_path, pk)
    data = (tmp_path / PK_FILE).read_bytes()
    (tmp_path / PK_FILE).write_bytes(data[:100])
    with pytest.raises(FormatError):
        load_proving_key(tmp_path)
    (tmp_path / PK_FILE).write_bytes(b"XXXX" + data[4:])
    with pytest.raises(FormatError, match="magic"):
        load_proving_key(tmp_path)


def test_ceremony_contributions_change_keys_and_transcript_but_proofs_verify(circuit, backend) -> None:  # type: ignore[no-untyped-def]
    r1cs = circuit.compile()
    p0 = phase1_new(3)
    p1 = phase1_contribute(p0, name="alice", entropy=b"alice's dice")
    p2 = phase1_contribute(p1, name="bob")
    phase1_verify(p2)
    assert [c["name"] for c in p2.contributions][1:] == ["alice", "bob"]
    assert len({c["hash"] for c in p2.contributions}) == 3
    assert p1.tau_g1[1] != p0.tau_g1[1] and p2.tau_g1[1] != p1.tau_g1[1]

    k0 = phase2_new(r1cs, p2)
    assert k0.contributions[0]["phase1_hash"] == p2.transcript_hash
    k1 = phase2_contribute(k0, name="carol")
    k2 = phase2_contribute(k1, name="dave", entropy=b"more")
    assert not k2.dev
    assert k1.vk.delta_g2 != k0.vk.delta_g2 and k2.vk.delta_g2 != k1.vk.delta_g2
    assert not (k2.h_query == k1.h_query).all() and not (k2.c_query == k1.c_query).all()
    assert (k2.a_query == k1.a_query).all() and k2.vk.ic == k1.vk.ic  # δ does not touch these
    hashes = [c["hash"] for c in k2.contributions]
    assert len(set(hashes)) == 3 and k2.transcript_hash == hashes[-1]
    w = circuit.witness({"x": 6, "y": 7, "z": 8})
    for key in (k1, k2):
        proof, public = prove(key, w, backend)
        assert verify(key.vk, public, proof)
    # a proof under k1 is not a proof under k2
    proof1, public1 = prove(k1, w, backend)
    assert not verify(k2.vk, public1, proof1)


def test_phase1_verify_catches_inconsistent_powers() -> None:
    p = phase1_contribute(phase1_new(2))
    p.tau_g1[3] = g1_mul(p.tau_g1[3], 2)
    with pytest.raises(ProverError, match="G1 powers"):
        phase1_verify(p)
    q = phase1_contribute(phase1_new(2))
    q.beta_g2 = g2_mul(G2_GEN, 5)
    with pytest.raises(ProverError, match="β"):
        phase1_verify(q)


def test_ceremony_needs_a_contribution(circuit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProverError):
        ceremony_setup(circuit.compile(), phase1_new(3), contributions=0)
    with pytest.raises(ProverError, match="powers of tau only cover"):
        phase2_new(circuit.compile(), phase1_new(2))


def test_cpu_backend_proves_a_larger_circuit() -> None:
    """The whole pipeline on the numba backend: 300 constraints (domain 512), bits and a product chain."""
    try:
        cpu = get_backend("cpu")
    except ProverError as exc:  # BackendUnavailable
        pytest.fail(f"cpu backend unavailable: {exc}")
    c = Circuit("chain")
    x = c.public_input("x")
    k = c.private_input("k")
    acc = x
    for i in range(150):
        acc = c.mul(acc + i, k, f"m{i}")
        c.constrain(k, k, c.mul(k, k, f"sq{i}"), name=f"sq_check{i}")
    c.output("out", acc)
    r1cs = c.compile()
    key = dev_setup(r1cs, cpu)
    assert key.qap.domain_size == 512
    w = c.witness({"x": 5, "k": 3})
    proof, public = prove(key, w, cpu, r1cs=r1cs)
    assert verify(key.vk, public, proof)
    assert isinstance(proof, Proof)
    assert key.a_query.shape == g1_to_array([None] * r1cs.n_wires).shape
    # a second proof reuses the prepared bases and is re-randomized (zero knowledge: r, s fresh)
    proof2, public2 = prove(key, w, cpu)
    assert public2 == public and proof2 != proof and verify(key.vk, public, proof2)


def test_compiled_point_scaling_matches_plain_ints() -> None:
    """The phase-2 δ⁻¹ scaling (numba) equals plain-int double-and-add, infinity and ±G included."""
    import secrets

    from relayer.zk.field import array_to_g1
    from relayer.zk.curve import g1_neg, scale_all_g1, scale_all_g1_fast
    from relayer.zk.groth16.setup import scale_g1_points

    pts = [g1_mul(G1_GEN, secrets.randbelow(R)) for _ in range(40)] + [None, G1_GEN, g1_neg(G1_GEN)]
    arr = g1_to_array(pts)
    for k in (1, 2, 3, R - 1, secrets.randbelow(R)):
        want = scale_all_g1(pts, k)
        assert array_to_g1(scale_g1_points(arr, k)) == want
        assert scale_all_g1_fast(pts, k) == want
    bad = arr.copy()
    bad[0, 1, 0] ^= 1
    with pytest.raises(FormatError):
        scale_g1_points(bad, 5)


def test_phase1_contribution_proofs_of_knowledge() -> None:
    import copy
    import json as _json

    from relayer.zk.groth16.setup import _chain, _pok, _pok_context, phase1_verify_contribution

    p0 = phase1_contribute(phase1_new(2), name="first")
    p1 = phase1_contribute(p0, name="second")
    phase1_verify_contribution(p0, p1)
    # a forged proof of knowledge (wrong response)
    bad = copy.deepcopy(p1)
    bad.contributions[-1]["pok"]["tau"]["z"] = str((int(bad.contributions[-1]["pok"]["tau"]["z"]) + 1) % R)
    with pytest.raises(ProverError, match="hash|proof of knowledge"):
        phase1_verify_contribution(p0, bad)
    # a well-formed record whose proven secret is not the one applied to the points
    liar = copy.deepcopy(p1)
    rec = liar.contributions[-1]
    rec["pok"]["tau"] = _pok(12345, _pok_context(p0.transcript_hash, "tau"))
    rec["hash"] = _chain(p0.transcript_hash, "1", rec["name"], liar.material() + _json.dumps(rec["pok"], sort_keys=True).encode())
    with pytest.raises(ProverError, match="not the old ones times"):
        phase1_verify_contribution(p0, liar)
    # a proof of knowledge copied from another position of the transcript does not verify
    replay = copy.deepcopy(p1)
    rec = replay.contributions[-1]
    rec["pok"]["alpha"] = p0.contributions[-1]["pok"]["alpha"]
    rec["hash"] = _chain(p0.transcript_hash, "1", rec["name"], replay.material() + _json.dumps(rec["pok"], sort_keys=True).encode())
    with pytest.raises(ProverError, match="proof of knowledge"):
        phase1_verify_contribution(p0, replay)
    with pytest.raises(ProverError, match="exactly one"):
        phase1_verify_contribution(p1, p0)


def test_phase2_contribution_verification(circuit, backend) -> None:  # type: ignore[no-untyped-def]
    import json as _json

    from relayer.zk.groth16.setup import _chain, key_material, phase2_verify_contribution

    k0 = phase2_contribute(phase2_new(circuit.compile(), phase1_contribute(phase1_new(3))), name="a")
    k1 = phase2_contribute(k0, name="b")
    phase2_verify_contribution(k0, k1, backend)
    # one H point not divided by the contributor's factor (record and hash otherwise honest)
    bad = dataclasses.replace(k1, h_query=k1.h_query.copy(), contributions=[dict(c) for c in k1.contributions])
    bad.h_query[2] = g1_to_array([g1_mul(G1_GEN, 99)])[0]
    rec = bad.contributions[-1]
    rec["hash"] = _chain(k0.transcript_hash, "2", rec["name"], key_material(bad) + _json.dumps(rec["pok"], sort_keys=True).encode())
    with pytest.raises(ProverError, match="H query"):
        phase2_verify_contribution(k0, bad, backend)
    # the A query must not change at all
    moved = dataclasses.replace(k1, a_query=k1.a_query[::-1].copy())
    with pytest.raises(ProverError, match="more than"):
        phase2_verify_contribution(k0, moved, backend)
    tampered = dataclasses.replace(k1, contributions=[dict(c) for c in k1.contributions])
    tampered.contributions[-1]["name"] = "mallory"
    with pytest.raises(ProverError, match="hash"):
        phase2_verify_contribution(k0, tampered, backend)


@pytest.mark.gpu
def test_gpu_backend_setup_and_proof_match_cpu() -> None:
    """dev_setup and prove on the gpu backend; its proofs verify and its setup points equal the cpu's."""
    from relayer.zk.examples import make_bench_circuit
    from relayer.zk.field import ints_to_limbs

    gpu = get_backend("gpu")
    cpu = get_backend("cpu")
    scalars = ints_to_limbs([0, 1, 2, R - 1, 123456789 << 200])
    assert (gpu.fixed_base_mul_g1(G1_GEN, scalars) == cpu.fixed_base_mul_g1(G1_GEN, scalars)).all()
    assert (gpu.fixed_base_mul_g2(G2_GEN, scalars) == cpu.fixed_base_mul_g2(G2_GEN, scalars)).all()
    bench = make_bench_circuit(1 << 12)
    r1cs = bench.circuit.compile()
    w = bench.circuit.witness(bench.inputs)
    key = dev_setup(r1cs, gpu)
    proof, public = prove(key, w, gpu, r1cs=r1cs)
    assert verify(key.vk, public, proof)
    proof_cpu, public_cpu = prove(key, w, cpu)
    assert public_cpu == public and verify(key.vk, public, proof_cpu)


def test_verifier_agrees_with_py_ecc(pk, proved) -> None:  # type: ignore[no-untyped-def]
    """The pairing equation the verifier decides, recomputed with py_ecc, for a good and a bad proof."""
    from py_ecc import optimized_bn128 as bn

    from relayer.zk.curve import to_py_ecc_g1, to_py_ecc_g2
    from relayer.zk.groth16.verifier import public_accumulator

    def pairing_product_is_one_py_ecc(pairs):  # type: ignore[no-untyped-def]
        acc = bn.FQ12.one()
        for p, q in pairs:
            acc = acc * bn.pairing(to_py_ecc_g2(q), to_py_ecc_g1(p), final_exponentiate=False)
        return bn.final_exponentiate(acc) == bn.FQ12.one()

    proof, public = proved
    vk = pk.vk
    for pub, pr in ((public, proof), ([public[0] + 1, public[1]], proof), (public, dataclasses.replace(proof, c=g1_add(proof.c, G1_GEN)))):
        pairs = [(g1_mul(pr.a, R - 1), pr.b), (public_accumulator(vk, pub), vk.gamma_g2), (pr.c, vk.delta_g2), (vk.alpha_g1, vk.beta_g2)]
        assert pairing_product_is_one_py_ecc(pairs) == verify(vk, pub, pr)


def test_compiled_qap_evaluation_matches_plain(circuit) -> None:  # type: ignore[no-untyped-def]
    """The numba QAP evaluation (used by the prover) equals the plain-int one, and finds the same
    first unsatisfied constraint."""
    from relayer.zk.field import ints_to_limbs, limbs_to_ints
    from relayer.zk.groth16.qap_kernel import coefficient_arrays, evaluate_limbs

    q = qapmod.from_r1cs(circuit.compile())
    arrays = coefficient_arrays(q)
    good = circuit.witness({"x": 3, "y": 5, "z": 7})
    a, b, c = qapmod.evaluate(q, good)
    al, bl, cl, bad = evaluate_limbs(q, arrays, ints_to_limbs(good))
    assert (limbs_to_ints(al), limbs_to_ints(bl), limbs_to_ints(cl), bad) == (a, b, c, -1)
    wrong = circuit.tamper(good, {"v": 11})
    ar, br, cr = qapmod.evaluate_rows(q, wrong)
    first = next(i for i in range(q.n_constraints) if ar[i] * br[i] % R != cr[i])
    assert evaluate_limbs(q, arrays, ints_to_limbs(wrong))[3] == first


def test_prover_plain_path_without_numba(pk, circuit, backend, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Where the compiled QAP evaluation cannot be imported the prover takes the plain-int path."""
    import sys

    monkeypatch.setitem(sys.modules, "relayer.zk.groth16.qap_kernel", None)  # import raises ImportError
    w = circuit.witness({"x": 2, "y": 2, "z": 2})
    proof, public = prove(pk, w, backend)
    assert verify(pk.vk, public, proof)
    with pytest.raises(UnsatisfiedConstraint, match="constraint #"):
        prove(pk, circuit.tamper(w, {"u": 3}), backend)


def test_compiled_phase2_queries_match_plain(circuit, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """phase2_new on the numba sparse combinations equals the plain-int construction (coefficients
    1, r − 1 and large ones, infinity terms included)."""
    import sys

    from relayer.zk.groth16.setup import lagrange_from_ptau

    c = Circuit("coefs")
    x = c.public_input("x")
    y = c.private_input("y")
    t = c.mul(x * 5 - y * (R - 3), y + (1 << 200), "t")
    c.output("o", c.mul(t * (R - 1), x, "u") + y * 7)
    r1cs = c.compile()
    basis = lagrange_from_ptau(phase1_contribute(phase1_new(3)), qapmod.from_r1cs(r1cs).domain_size)
    fast = phase2_new(r1cs, basis)
    monkeypatch.setitem(sys.modules, "relayer.zk.groth16.lincomb_kernel", None)
    plain = phase2_new(r1cs, basis)
    assert fast.vk == plain.vk
    for name in ("a_query", "b1_query", "b2_query", "c_query", "h_query"):
        assert (getattr(fast, name) == getattr(plain, name)).all(), name


def test_compiled_setup_scalars_match_plain(circuit) -> None:  # type: ignore[no-untyped-def]
    """dev_setup's compiled scalar pipeline (Lagrange at τ, wire polynomials, C/H/IC scalars) equals
    the plain-int one, with the test circuit and with coefficients r − 1 and 2^200."""
    from relayer.zk.groth16.setup import fresh_scalar, setup_scalars_plain
    from relayer.zk.groth16.setup_kernel import setup_scalars

    c = Circuit("coefs2")
    x = c.public_input("x")
    y = c.private_input("y")
    c.output("o", c.mul(x * (R - 1) + y * (1 << 200), y, "t") + 9)
    for r1cs in (circuit.compile(), c.compile()):
        q = qapmod.from_r1cs(r1cs)
        secrets_ = [fresh_scalar(label=bytes([i])) for i in range(4)]
        f1, f2 = setup_scalars(q, *secrets_)
        p1, p2 = setup_scalars_plain(q, *secrets_)
        assert (f1 == p1).all() and (f2 == p2).all()


def test_key_file_with_out_of_range_coefficient_rejected(pk, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A re-checksummed key whose coefficient points past the wires is refused before any kernel runs."""
    from relayer.zk.groth16.keys import write_proving_key

    q = pk.qap
    bad_qap = dataclasses.replace(q, coeffs=((0, 0, q.n_wires + 5, 1), *q.coeffs[1:]))
    write_proving_key(tmp_path / PK_FILE, dataclasses.replace(pk, qap=bad_qap, prepared={}))
    with pytest.raises(FormatError, match="outside the circuit"):
        load_proving_key(tmp_path)


def test_vk_json_with_a_malformed_count_or_ic_is_a_format_error() -> None:
    """nPublic must be a JSON integer (a float is not truncated, null is not coerced) and IC a list;
    every such key is a FormatError, never a bare ValueError/TypeError or a silently accepted key."""
    from relayer.zk.formats.snarkjs_json import vk_from_json, vk_to_json
    from relayer.zk.groth16.types import VerifyingKey

    vk = VerifyingKey(G1_GEN, G2_GEN, G2_GEN, G2_GEN, (G1_GEN, g1_mul(G1_GEN, 2)))
    good = vk_to_json(vk, with_alphabeta=False)
    assert vk_from_json(good) == vk
    for bad in ({"nPublic": 1.9}, {"nPublic": "one"}, {"nPublic": None}, {"nPublic": True}, {"nPublic": -1},
                {"IC": 5}, {"IC": None}):
        with pytest.raises(FormatError, match="nPublic|IC"):
            vk_from_json({**good, **bad})
