"""Groth16 prover: witness check, QAP evaluation, h via the backend, five MSMs, blinding, self-check.

With r, s uniform from the OS CSPRNG (snarkjs `groth16_prove.js` has the same algebra):
    A = α + Σ w_i A_i + rδ              B = β + Σ w_i B_i + sδ   (in G2, and in G1 as B1)
    C = Σ_{private} w_i C_i + Σ_j d_j H_j + s·A + r·B1 − rs·δ
where d_j = A(x_j)B(x_j) − C(x_j) at the odd points of the 2n-domain (backend.compute_h).
Every proof is verified locally before it is returned; a proof that fails is never handed out.
The witness becomes one limb array (range-checked in numpy) that every MSM reads; a backend that
declares `resident_qap` (gpu) also evaluates the QAP, the satisfaction check and h on its device.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from relayer.errors import ProverError, UnsatisfiedConstraint, VerificationError
from relayer.zk.backends.base import ProverBackend
from relayer.zk.field import R, first_not_below, ints_to_limbs, limbs_to_ints
from relayer.zk.groth16 import qap as qapmod
from relayer.zk.curve import G1, G2, g1_mul, g1_neg
from relayer.zk.groth16.keys import DEV_WARNING, ProvingKey
from relayer.zk.groth16.types import Proof
from relayer.zk.groth16.verifier import verify
from relayer.zk.r1cs import R1CS

log = logging.getLogger(__name__)


def prepared_bases(pk: ProvingKey, backend: ProverBackend) -> dict[str, Any]:
    """The key's bases prepared for this backend, built on first use and cached on the key."""
    cached = pk.prepared.get(backend.name)
    if cached is None:
        cached = {
            "a": backend.prepare_g1(pk.a_query),
            "b1": backend.prepare_g1(pk.b1_query),
            "b2": backend.prepare_g2(pk.b2_query),
            "c": backend.prepare_g1(pk.c_query),
            "h": backend.prepare_g1(pk.h_query),
        }
        pk.prepared[backend.name] = cached
    return cached


def _not_an_element(i: int, x: object) -> UnsatisfiedConstraint:
    return UnsatisfiedConstraint(f"witness value {i} is not an integer in [0, r) (got {type(x).__name__} {x!r:.40})")


def witness_limbs(pk: ProvingKey, witness: Sequence[int] | np.ndarray) -> np.ndarray:
    """The witness as canonical (n_wires, 4) uint64 limbs, each value checked to be an int in [0, r)
    and witness[0] == 1; UnsatisfiedConstraint names the first bad value.

    Python ints are packed by one C-level pass (int.to_bytes) and range-checked in numpy, with no
    per-value Python: at 2^20 wires this is the prover's only O(n) host work. An (n, 4) uint64
    array (e.g. a .wtns body) is taken as it is. bool, float, str... are refused (exact integers only).
    """
    q = pk.qap
    if len(witness) != q.n_wires:
        raise UnsatisfiedConstraint(f"witness has {len(witness)} values, the key expects {q.n_wires} wires")
    if isinstance(witness, np.ndarray) and witness.ndim == 2:
        if witness.dtype != np.uint64 or witness.shape != (q.n_wires, 4):
            raise UnsatisfiedConstraint(
                f"a witness array must be uint64 limbs of shape ({q.n_wires}, 4), got {witness.dtype} {witness.shape}"
            )
        w = np.ascontiguousarray(witness)
    else:
        if not set(map(type, witness)) <= {int}:
            # subclasses and numpy integers: exact ints are converted, anything else is refused
            for i, x in enumerate(witness):
                if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
                    raise _not_an_element(i, x)
            witness = [int(x) for x in witness]
        try:
            # bytearray.join: a writable buffer numpy can use in place (no second 32n-byte copy)
            data = bytearray().join(map(int.to_bytes, witness, repeat(32), repeat("little")))
        except OverflowError:  # negative or >= 2^256: find which, for the message
            i = next(i for i, x in enumerate(witness) if not 0 <= x < 1 << 256)
            raise _not_an_element(i, witness[i]) from None
        w = np.frombuffer(data, dtype="<u8").reshape(-1, 4).astype(np.uint64, copy=False)  # no copy on LE hosts
    bad = first_not_below(w)
    if bad >= 0:
        raise _not_an_element(bad, limbs_to_ints(w[bad])[0])
    if q.n_wires and (int(w[0, 0]) != 1 or w[0, 1:].any()):
        raise UnsatisfiedConstraint("witness[0] (the constant wire) must be 1")
    return w


def _check_rows(pk: ProvingKey, a: list[int], b: list[int], c: list[int], r1cs: R1CS | None, start: int = 0) -> None:
    for i in range(start, pk.qap.n_constraints):
        if a[i] * b[i] % R != c[i]:
            name = r1cs._name(i) if r1cs is not None else f"#{i}"
            raise UnsatisfiedConstraint(
                f"constraint {name} (index {i}) is not satisfied: A*B = {a[i] * b[i] % R}, C = {c[i]}"
            )


def _check_r1cs_matches(pk: ProvingKey, r1cs: R1CS) -> None:
    q = pk.qap
    if (r1cs.n_wires, r1cs.n_public, r1cs.n_constraints) != (q.n_wires, q.n_public, q.n_constraints):
        raise ProverError("the R1CS given does not match the proving key (wires/public/constraints differ)")


def _check_without_c(pk: ProvingKey, witness: Callable[[], list[int]], r1cs: R1CS | None) -> None:
    if pk.qap.has_c:
        return
    if r1cs is not None:
        r1cs.check(witness())  # a .zkey has no C matrix: check against the circuit's own
    else:
        # the local verification after proving still rejects a bad witness, without naming the constraint
        log.info("proving key has no C coefficients and no R1CS was given; the witness is checked by verifying the proof")


def _raise_unsatisfied(pk: ProvingKey, witness: list[int], row: int, r1cs: R1CS | None) -> None:
    vals = [0, 0, 0]
    for mat, r, wire, v in pk.qap.coeffs:
        if r == row:
            vals[mat] += v * witness[wire]
    a, b, c = (x % R for x in vals)
    _check_rows(pk, [a] * (row + 1), [b] * (row + 1), [c] * (row + 1), r1cs, start=row)


def _evaluate_compiled(pk: ProvingKey, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """The QAP evaluation on compiled kernels (None where numba cannot run: the plain path is used)."""
    try:
        from relayer.zk.groth16.qap_kernel import coefficient_arrays, evaluate_limbs
    except ImportError as exc:
        log.info("compiled QAP evaluation unavailable (%s); using plain Python", exc)
        return None
    arrays = pk.prepared.get("_qap_arrays")
    if arrays is None:
        arrays = pk.prepared["_qap_arrays"] = coefficient_arrays(pk.qap)
    return evaluate_limbs(pk.qap, arrays, w)


def prepared_qap(pk: ProvingKey, backend: ProverBackend) -> Any:
    """The key's QAP coefficients prepared for a resident_qap backend, built once and cached on the key."""
    key = f"_qap:{backend.name}"
    cached = pk.prepared.get(key)
    if cached is None:
        from relayer.zk.groth16.qap_kernel import coefficient_arrays, coefficient_csr

        arrays = pk.prepared.get("_qap_arrays")
        if arrays is None:
            arrays = pk.prepared["_qap_arrays"] = coefficient_arrays(pk.qap)
        csr = coefficient_csr(pk.qap, arrays)
        cached = pk.prepared[key] = backend.prepare_qap(
            csr["row_ptr"], csr["wires"], csr["coefs"], csr["domain"], csr["n_check"]
        )
    return cached


def check_witness(pk: ProvingKey, witness: Sequence[int], r1cs: R1CS | None = None) -> None:
    """Raise UnsatisfiedConstraint naming the first violated constraint (before any proving work)."""
    witness = limbs_to_ints(witness_limbs(pk, witness))
    if r1cs is not None:
        _check_r1cs_matches(pk, r1cs)
    if pk.qap.has_c:
        a, b, c = qapmod.evaluate_rows(pk.qap, witness)
        assert c is not None
        _check_rows(pk, a, b, c, r1cs)
    elif r1cs is not None:
        r1cs.check(witness)


def prove(
    pk: ProvingKey,
    witness: Sequence[int] | np.ndarray,
    backend: ProverBackend,
    *,
    r1cs: R1CS | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[Proof, list[int]]:
    """Prove for a full witness (circom wire order: ints, or (n_wires, 4) uint64 limbs); returns
    (proof, public signals).

    `timings`, if given, is filled with seconds per stage (check, qap, h, msm_*, blind, verify; and
    prepare/upload for a resident_qap backend).
    """
    if pk.dev:
        log.warning("%s", DEV_WARNING)
    t: dict[str, float] = timings if timings is not None else {}
    t0 = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        t[name] = t.get(name, 0.0) + now - t0
        t0 = now

    q = pk.qap
    w = witness_limbs(pk, witness)  # the one conversion: every MSM and the QAP read these limbs
    if r1cs is not None:
        _check_r1cs_matches(pk, r1cs)
    stage("check")
    ints: list[int] | None = None

    def witness_ints() -> list[int]:
        # plain ints only where a slow path needs them (no numba, no C matrix, an error message)
        nonlocal ints
        if ints is None:
            ints = limbs_to_ints(w)
        return ints

    if backend.resident_qap:
        # witness up once; A, B, C, the check and h on the device; d never comes back to the host
        qap_handle = prepared_qap(pk, backend)
        stage("prepare")
        scalars: Any = backend.load_witness(w)
        stage("upload")
        rows, bad = backend.evaluate_qap(qap_handle, scalars)
        stage("qap")
        if bad >= 0:
            _raise_unsatisfied(pk, witness_ints(), bad, r1cs)
        _check_without_c(pk, witness_ints, r1cs)
        stage("check")
        d: Any = backend.h_resident(rows)
        del rows
    else:
        scalars = w
        # one pass gives A, B and the C matrix rows: the satisfaction check and the QAP share it
        compiled = _evaluate_compiled(pk, w)
        if compiled is not None:
            a_l, b_l, c_l, bad = compiled
            stage("qap")
            if bad >= 0:
                _raise_unsatisfied(pk, witness_ints(), bad, r1cs)
            _check_without_c(pk, witness_ints, r1cs)
        else:
            a, b, c_rows = qapmod.evaluate_rows(q, witness_ints())
            stage("qap")
            if c_rows is not None:
                _check_rows(pk, a, b, c_rows, r1cs)
            _check_without_c(pk, witness_ints, r1cs)
            n = q.domain_size
            # C = A·B on every row once the check passed (snarkjs does the same)
            a_l, b_l, c_l = ints_to_limbs(a, n), ints_to_limbs(b, n), ints_to_limbs([x * y % R for x, y in zip(a, b)], n)
        stage("check")
        d = backend.compute_h(a_l, b_l, c_l)
    stage("h")
    bases = prepared_bases(pk, backend)
    stage("prepare")
    pi_a = backend.msm_g1(bases["a"], scalars)
    stage("msm_a")
    pi_b1 = backend.msm_g1(bases["b1"], scalars)
    stage("msm_b1")
    pi_b = backend.msm_g2(bases["b2"], scalars)
    stage("msm_b2")
    pi_c = backend.msm_g1(bases["c"], backend.scalars_tail(scalars, q.n_public + 1)) if q.n_wires > q.n_public + 1 else None
    stage("msm_c")
    h = backend.msm_g1(bases["h"], d)
    stage("msm_h")

    # zero-knowledge blinding from the OS CSPRNG; r, s never leave this function
    r = secrets.randbelow(R)
    s = secrets.randbelow(R)
    vk = pk.vk
    A = G1.add(G1.add(G1.from_affine(pi_a), G1.from_affine(vk.alpha_g1)), G1.mul(G1.from_affine(pk.delta_g1), r))
    B = G2.add(G2.add(G2.from_affine(pi_b), G2.from_affine(vk.beta_g2)), G2.mul(G2.from_affine(vk.delta_g2), s))
    B1 = G1.add(G1.add(G1.from_affine(pi_b1), G1.from_affine(pk.beta_g1)), G1.mul(G1.from_affine(pk.delta_g1), s))
    A_aff = G1.to_affine(A)
    C = G1.add(G1.from_affine(pi_c), G1.from_affine(h))
    C = G1.add(C, G1.mul(A, s))
    C = G1.add(C, G1.mul(B1, r))
    C = G1.add(C, G1.from_affine(g1_neg(g1_mul(pk.delta_g1, r * s % R))))
    proof = Proof(a=A_aff, b=G2.to_affine(B), c=G1.to_affine(C))
    public = limbs_to_ints(w[1 : 1 + q.n_public])
    stage("blind")

    if not verify(vk, public, proof):
        raise VerificationError(
            "the proof just made does not verify: the witness does not satisfy the circuit, the proving key does "
            f"not match its verifying key, or backend {backend.name!r} computed wrongly"
        )
    stage("verify")
    log.info("proved with %s: %s", backend.name, ", ".join(f"{k} {v:.3f}s" for k, v in t.items()))
    return proof, public
