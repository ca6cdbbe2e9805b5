"""Groth16 setup: `dev_setup` (one local contribution, says so), and the two-phase ceremony.

Phase 1 (powers of tau, circuit independent): [τ^i]G1 (i < 2n), [τ^i]G2, [ατ^i]G1, [βτ^i]G1 (i < n),
[β]G2. Each contribution multiplies τ, α, β by fresh randomness. Phase 2 (per circuit): the
Lagrange-basis queries of the QAP (zkey sections 3, 5–9 of snarkjs) with δ = 1, then contributions
that multiply δ by fresh randomness and divide the C and H queries by it. γ is the G2 generator, as
in snarkjs. Every contribution appends {phase, name, hash} to a transcript whose hashes chain:
    hash_k = sha256(hash_{k−1} ‖ phase ‖ name ‖ sha256(all key material after the contribution)).
Randomness comes from os.urandom (optionally mixed with user entropy) and is discarded in memory;
toxic waste is never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from relayer.errors import FormatError, ProverError
from relayer.zk.backends.base import ProverBackend
from relayer.zk.field import R, G1Point, G2Point, array_to_g1, fr_root_of_unity, g1_to_array, g2_to_array, ints_to_limbs
from relayer.zk.groth16 import qap as qapmod
from relayer.zk.curve import (
    G1,
    G1_GEN,
    G2,
    G2_GEN,
    g2_add,
    g2_mul,
    scale_all_g1,
    scale_all_g2,
    scale_each_g1,
    scale_each_g2,
)
from relayer.zk.groth16.keys import DEV_WARNING, ProvingKey, g1_json, g2_from_json, g2_json
from relayer.zk.groth16.types import VerifyingKey
from relayer.zk.r1cs import R1CS

log = logging.getLogger(__name__)


# --- randomness and transcript ------------------------------------------------------------------
def fresh_scalar(entropy: bytes = b"", label: bytes = b"") -> int:
    """A uniform non-zero Fr element from os.urandom, with optional user entropy mixed in (never instead)."""
    while True:
        h = hashlib.sha512(os.urandom(64) + hashlib.sha256(entropy).digest() + label).digest()
        v = int.from_bytes(h, "big") % R  # 512 → 254 bits: bias < 2^-250
        if v:
            return v


def _chain(prev: str, phase: str, name: str, material: bytes) -> str:
    h = hashlib.sha256()
    h.update(bytes.fromhex(prev) if prev else b"\0" * 32)
    h.update(phase.encode() + b"\0" + name.encode() + b"\0")
    h.update(hashlib.sha256(material).digest())
    return h.hexdigest()


def _pok(x: int, context: bytes) -> dict[str, Any]:
    """Schnorr proof of knowledge of x for X = [x]G2, bound to `context` (the previous transcript
    hash and the secret's role), so it cannot be replayed elsewhere: R = [k]G2,
    c = sha256(context ‖ X ‖ R) mod r, z = k + c·x; checked as [z]G2 = R + [c]X."""
    X = g2_mul(G2_GEN, x)
    k = fresh_scalar(label=b"pok nonce")
    Rp = g2_mul(G2_GEN, k)
    c = _pok_challenge(context, X, Rp)
    return {"x_g2": g2_json(X), "r_g2": g2_json(Rp), "z": str((k + c * x) % R)}


def _pok_challenge(context: bytes, X: G2Point, Rp: G2Point) -> int:
    blob = context + json.dumps([g2_json(X), g2_json(Rp)]).encode()
    return int.from_bytes(hashlib.sha512(blob).digest(), "big") % R


def _pok_check(pok: Any, context: bytes, what: str) -> G2Point:
    """The public key X of a valid proof of knowledge; ProverError otherwise."""
    try:
        X = g2_from_json(pok["x_g2"], f"{what} public key")
        Rp = g2_from_json(pok["r_g2"], f"{what} commitment")
        z = int(pok["z"]) % R
    except (KeyError, TypeError, ValueError, FormatError) as exc:
        raise ProverError(f"{what}: malformed proof of knowledge ({exc})") from exc
    if X is None or g2_mul(G2_GEN, z) != g2_add(Rp, g2_mul(X, _pok_challenge(context, X, Rp))):
        raise ProverError(f"{what}: the proof of knowledge does not verify")
    return X


def _pok_context(prev_hash: str, role: str) -> bytes:
    return (prev_hash or "0" * 64).encode() + b"/" + role.encode()


def key_material(pk: ProvingKey) -> bytes:
    """The bytes a phase-2 transcript hash commits to: verifying key, δ, every query, the QAP."""
    from relayer.zk.formats.snarkjs_json import vk_to_json
    from relayer.zk.groth16.keys import _coeff_bytes

    head = json.dumps(
        {"vk": vk_to_json(pk.vk, with_alphabeta=False), "beta_g1": g1_json(pk.beta_g1), "delta_g1": g1_json(pk.delta_g1)},
        sort_keys=True,
    ).encode()
    arrays = (pk.a_query, pk.b1_query, pk.b2_query, pk.c_query, pk.h_query)
    return head + _coeff_bytes(pk.qap.coeffs) + b"".join(np.ascontiguousarray(a, dtype="<u8").tobytes() for a in arrays)


# --- development setup --------------------------------------------------------------------------
def _get_backend(backend: ProverBackend | str) -> ProverBackend:
    if isinstance(backend, str):
        from relayer.zk.backends import get_backend

        return get_backend(backend)
    return backend


def setup_scalars_plain(q: qapmod.QAP, tau: int, alpha: int, beta: int, delta: int) -> tuple[np.ndarray, np.ndarray]:
    """(G1 scalars, G2 scalars) of every key point, plain ints. G1: u_i(τ) (A), v_i(τ) (B1),
    (βu_i + αv_i + w_i)/δ for private wires (C), L^{2n}_{2j+1}(τ)/δ (H), βu_i + αv_i + w_i for public
    wires (IC, γ = 1), α, β, δ.  G2: v_i(τ) (B2), β, δ."""
    n = q.domain_size
    lag = qapmod.lagrange_at(tau, n)
    u, v, w = qapmod.wire_polys_at(q, lag)
    hl = qapmod.h_lagrange_at(tau, n)
    dinv = pow(delta, -1, R)
    npub = q.n_public
    lc = [(beta * u[i] + alpha * v[i] + w[i]) % R for i in range(q.n_wires)]
    cq = [x * dinv % R for x in lc[npub + 1 :]]
    hq = [x * dinv % R for x in hl]
    g1 = ints_to_limbs([*u, *v, *cq, *hq, *lc[: npub + 1], alpha, beta, delta])
    return g1, ints_to_limbs([*v, beta, delta])


def setup_scalars(q: qapmod.QAP, tau: int, alpha: int, beta: int, delta: int) -> tuple[np.ndarray, np.ndarray]:
    """setup_scalars_plain on compiled kernels when they can run (same values)."""
    if (pow(tau, 2 * q.domain_size, R) - 1) % R == 0:
        raise ProverError("setup randomness hit the evaluation domain; run the setup again")
    try:
        from relayer.zk.groth16.setup_kernel import setup_scalars as compiled
    except ImportError as exc:
        log.info("compiled setup scalars unavailable (%s); using plain Python", exc)
        return setup_scalars_plain(q, tau, alpha, beta, delta)
    return compiled(q, tau, alpha, beta, delta)


def _keys_from_scalars(
    r1cs_qap: qapmod.QAP,
    tau: int,
    alpha: int,
    beta: int,
    delta: int,
    backend: ProverBackend,
) -> tuple[VerifyingKey, G1Point, G1Point, dict[str, np.ndarray]]:
    """All key points as [scalar]G via the backend's fixed-base batch multiplication."""
    q = r1cs_qap
    n = q.domain_size
    npub = q.n_public
    g1_scalars, g2_scalars = setup_scalars(q, tau, alpha, beta, delta)
    g1 = backend.fixed_base_mul_g1(G1_GEN, g1_scalars)
    g2 = backend.fixed_base_mul_g2(G2_GEN, g2_scalars)
    m = q.n_wires
    off = 0

    def take(k: int) -> np.ndarray:
        nonlocal off
        part = g1[off : off + k]
        off += k
        return np.ascontiguousarray(part)

    arrays = {"a": take(m), "b1": take(m), "c": take(m - npub - 1), "h": take(n)}
    ic_pts = array_to_g1(take(npub + 1))
    alpha_g1, beta_g1, delta_g1 = array_to_g1(take(3))
    from relayer.zk.field import array_to_g2

    arrays["b2"] = np.ascontiguousarray(g2[:m])
    beta_g2, delta_g2 = array_to_g2(g2[m:])
    vk = VerifyingKey(alpha_g1=alpha_g1, beta_g2=beta_g2, gamma_g2=G2_GEN, delta_g2=delta_g2, ic=tuple(ic_pts))
    return vk, beta_g1, delta_g1, arrays


def dev_setup(r1cs: R1CS, backend: ProverBackend | str = "cpu") -> ProvingKey:
    """DEVELOPMENT setup: one local contribution; the key is labeled dev and warns wherever used.

    Whoever ran it could have kept τ, α, β, δ and forge proofs; use the ceremony
    (`phase1_*`, `phase2_*`, `relayer setup contribute`) for anything real.
    """
    log.warning("dev_setup: %s", DEV_WARNING)
    be = _get_backend(backend)
    q = qapmod.from_r1cs(r1cs)
    t0 = time.perf_counter()
    # toxic waste: local variables only, dropped when this function returns
    tau, alpha, beta, delta = (fresh_scalar(label=x) for x in (b"tau", b"alpha", b"beta", b"delta"))
    vk, beta_g1, delta_g1, arrays = _keys_from_scalars(q, tau, alpha, beta, delta, be)
    del tau, alpha, beta, delta
    pk = ProvingKey(
        vk=vk,
        beta_g1=beta_g1,
        delta_g1=delta_g1,
        qap=q,
        a_query=arrays["a"],
        b1_query=arrays["b1"],
        b2_query=arrays["b2"],
        c_query=arrays["c"],
        h_query=arrays["h"],
        dev=True,
    )
    pk.contributions.append({"phase": "dev", "name": "dev_setup (os.urandom, one party)", "hash": _chain("", "dev", "dev_setup", key_material(pk))})
    log.info("dev_setup: %d constraints, domain %d, %.2fs on %s", q.n_constraints, q.domain_size, time.perf_counter() - t0, be.name)
    return pk


# --- phase 1: powers of tau ---------------------------------------------------------------------
PTAU_MAGIC = b"RGP1"


@dataclass
class PowersOfTau:
    """Phase-1 parameters for circuits with domain size up to n = 2^power."""

    power: int
    tau_g1: list[G1Point]  # 2n
    tau_g2: list[G2Point]  # n
    alpha_tau_g1: list[G1Point]  # n
    beta_tau_g1: list[G1Point]  # n
    beta_g2: G2Point
    contributions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return 1 << self.power

    @property
    def transcript_hash(self) -> str:
        return self.contributions[-1]["hash"] if self.contributions else ""

    def material(self) -> bytes:
        return b"".join(
            [
                g1_to_array(self.tau_g1).tobytes(),
                g2_to_array(self.tau_g2).tobytes(),
                g1_to_array(self.alpha_tau_g1).tobytes(),
                g1_to_array(self.beta_tau_g1).tobytes(),
                g2_to_array([self.beta_g2]).tobytes(),
            ]
        )


def phase1_new(power: int) -> PowersOfTau:
    """The starting point of a ceremony: τ = α = β = 1 (every power is a generator)."""
    if not 1 <= power <= 27:
        raise ProverError(f"powers of tau: power {power} must be in 1..27")
    n = 1 << power
    p = PowersOfTau(power, [G1_GEN] * (2 * n), [G2_GEN] * n, [G1_GEN] * n, [G1_GEN] * n, G2_GEN)
    p.contributions.append({"phase": "1", "name": "initial (tau = alpha = beta = 1)", "hash": _chain("", "1", "initial", p.material())})
    return p


def phase1_contribute(ptau: PowersOfTau, name: str = "", entropy: bytes = b"") -> PowersOfTau:
    """Multiply τ, α, β by fresh secrets t, a, b: [τ^i] ← t^i[τ^i], [ατ^i] ← a·t^i[ατ^i], ..."""
    t = fresh_scalar(entropy, b"tau")
    a = fresh_scalar(entropy, b"alpha")
    b = fresh_scalar(entropy, b"beta")
    n = ptau.n
    pw = [1] * (2 * n)
    for i in range(1, 2 * n):
        pw[i] = pw[i - 1] * t % R
    new = PowersOfTau(
        power=ptau.power,
        tau_g1=scale_each_g1(ptau.tau_g1, pw),
        tau_g2=scale_each_g2(ptau.tau_g2, pw[:n]),
        alpha_tau_g1=scale_each_g1(ptau.alpha_tau_g1, [a * x % R for x in pw[:n]]),
        beta_tau_g1=scale_each_g1(ptau.beta_tau_g1, [b * x % R for x in pw[:n]]),
        beta_g2=scale_all_g2([ptau.beta_g2], b)[0],
        contributions=list(ptau.contributions),
    )
    prev = ptau.transcript_hash
    pok = {role: _pok(x, _pok_context(prev, role)) for role, x in (("tau", t), ("alpha", a), ("beta", b))}
    del t, a, b, pw
    name = name or f"contribution {len(ptau.contributions)}"
    h = _chain(prev, "1", name, new.material() + json.dumps(pok, sort_keys=True).encode())
    new.contributions.append({"phase": "1", "name": name, "pok": pok, "hash": h})
    return new


def phase1_verify_contribution(old: PowersOfTau, new: PowersOfTau) -> None:
    """Check that `new` is `old` plus one valid contribution: same history, a transcript hash
    that recomputes, proofs of knowledge of t, a, b, the new points are the old ones times those
    secrets (pairings), and the new powers are consistent (phase1_verify)."""
    from relayer.zk.curve import g1_neg
    from relayer.zk.pairing import pairing_product_is_one as _pairing_product_is_one

    if new.power != old.power or new.contributions[:-1] != old.contributions or len(new.contributions) != len(old.contributions) + 1:
        raise ProverError("powers of tau: the new file does not extend the old one by exactly one contribution")
    last = new.contributions[-1]
    pok = last.get("pok") or {}
    prev = old.transcript_hash
    if last["hash"] != _chain(prev, "1", last["name"], new.material() + json.dumps(pok, sort_keys=True).encode()):
        raise ProverError("powers of tau: the transcript hash of the last contribution does not recompute")
    xs = {role: _pok_check(pok.get(role), _pok_context(prev, role), f"phase-1 {role}") for role in ("tau", "alpha", "beta")}
    for role, o, nw in (("tau", old.tau_g1[1], new.tau_g1[1]), ("alpha", old.alpha_tau_g1[0], new.alpha_tau_g1[0]),
                        ("beta", old.beta_tau_g1[0], new.beta_tau_g1[0])):
        # e(new, G2) = e(old, [x]G2): the new point is the old one times the proven secret
        if not _pairing_product_is_one([(nw, G2_GEN), (g1_neg(o), xs[role])]):
            raise ProverError(f"powers of tau: the new {role} points are not the old ones times the contributor's secret")
    phase1_verify(new)


def phase1_verify(ptau: PowersOfTau, backend: ProverBackend | str = "cpu") -> None:
    """Check the powers are consistent: e([τ^{i+1}]G1, G2) = e([τ^i]G1, [τ]G2) on a random combination,
    and the same for G2, α and β (one multi-pairing each; the combinations are MSMs on `backend`, so
    the `reference` backend gives a pure-Python check). Raises ProverError on failure."""
    from relayer.zk.curve import g1_neg
    from relayer.zk.pairing import pairing_product_is_one as _pairing_product_is_one

    n = ptau.n
    if n < 2 or len(ptau.tau_g1) != 2 * n or len(ptau.tau_g2) != n or len(ptau.alpha_tau_g1) != n or len(ptau.beta_tau_g1) != n:
        raise ProverError(f"powers of tau: power {ptau.power} needs 2n G1 powers of tau and n of the others (n ≥ 2)")
    be = _get_backend(backend)
    rs = [fresh_scalar(label=b"check") for _ in range(2 * n - 1)]
    # Σ rs_i·P_i (lo) and Σ rs_i·P_{i+1} (hi) over one prepared array: the scalar vectors are rs
    # followed by a zero, and a zero followed by rs (zero scalars cost nothing in the MSM).
    lo_s = ints_to_limbs([*rs, 0])
    hi_s = ints_to_limbs([0, *rs])
    lo_sn = ints_to_limbs([*rs[: n - 1], 0])
    hi_sn = ints_to_limbs([0, *rs[: n - 1]])
    try:
        tau1 = be.prepare_g1(g1_to_array(ptau.tau_g1))
        tau2 = be.prepare_g2(g2_to_array(ptau.tau_g2))
        ab = [(name, be.prepare_g1(g1_to_array(pts))) for name, pts in (("alpha", ptau.alpha_tau_g1), ("beta", ptau.beta_tau_g1))]
    except (ProverError, FormatError) as exc:  # a point off the curve or a coordinate out of range
        raise ProverError(f"powers of tau: {exc}") from exc
    tau1_g2 = ptau.tau_g2[1]
    lo = be.msm_g1(tau1, lo_s)
    hi = be.msm_g1(tau1, hi_s)
    if not _pairing_product_is_one([(hi, G2_GEN), (g1_neg(lo), tau1_g2)]):
        raise ProverError("powers of tau: the G1 powers are not consecutive powers of one τ")
    # G2 powers: e(τG1, Σ rs_i [τ^i]G2) = e(G1, Σ rs_i [τ^{i+1}]G2)
    acc_lo = be.msm_g2(tau2, lo_sn)
    acc_hi = be.msm_g2(tau2, hi_sn)
    if not _pairing_product_is_one([(ptau.tau_g1[1], acc_lo), (g1_neg(G1_GEN), acc_hi)]):
        raise ProverError("powers of tau: the G2 powers do not match the G1 powers")
    for name, prep in ab:
        lo = be.msm_g1(prep, lo_sn)
        hi = be.msm_g1(prep, hi_sn)
        if not _pairing_product_is_one([(hi, G2_GEN), (g1_neg(lo), tau1_g2)]):
            raise ProverError(f"powers of tau: the {name}·τ^i powers are inconsistent")
    if not _pairing_product_is_one([(ptau.beta_tau_g1[0], G2_GEN), (g1_neg(G1_GEN), ptau.beta_g2)]):
        raise ProverError("powers of tau: [β]G1 and [β]G2 differ")


def write_ptau(path: Path, ptau: PowersOfTau) -> None:
    """Layout: b"RGP1" | u32 header_len | header JSON | material() | sha256 of all before."""
    header = json.dumps({"power": ptau.power, "contributions": ptau.contributions}).encode()
    body = PTAU_MAGIC + struct.pack("<I", len(header)) + header + ptau.material()
    Path(path).write_bytes(body + hashlib.sha256(body).digest())


def read_ptau(path: Path) -> PowersOfTau:
    from relayer.zk.field import array_to_g2

    data = Path(path).read_bytes()
    if data[:4] != PTAU_MAGIC:
        raise FormatError(f"{path}: not a relayer powers-of-tau file (for a snarkjs .ptau the magic is 'ptau')")
    body, digest = data[:-32], data[-32:]
    if hashlib.sha256(body).digest() != digest:
        raise FormatError(f"{path}: checksum mismatch: the powers-of-tau file is corrupt")
    (hlen,) = struct.unpack_from("<I", body, 4)
    header = json.loads(body[8 : 8 + hlen])
    n = 1 << int(header["power"])
    raw = np.frombuffer(body[8 + hlen :], dtype="<u8").astype(np.uint64)
    sizes = [2 * n * 8, n * 16, n * 8, n * 8, 16]
    if raw.size != sum(sizes):
        raise FormatError(f"{path}: powers-of-tau body has the wrong size for power {header['power']}")
    parts = np.split(raw, np.cumsum(sizes)[:-1])
    p = PowersOfTau(
        power=int(header["power"]),
        tau_g1=array_to_g1(parts[0].reshape(-1, 2, 4)),
        tau_g2=array_to_g2(parts[1].reshape(-1, 2, 2, 4)),
        alpha_tau_g1=array_to_g1(parts[2].reshape(-1, 2, 4)),
        beta_tau_g1=array_to_g1(parts[3].reshape(-1, 2, 4)),
        beta_g2=array_to_g2(parts[4].reshape(-1, 2, 2, 4))[0],
        contributions=list(header["contributions"]),
    )
    return p


# --- phase 1 → Lagrange basis -------------------------------------------------------------------
def _group_dft(points: Sequence[Any], grp: Any, root: int) -> list[Any]:
    """out[k] = Σ_j root^{jk} · points[j] over Jacobian points (radix-2, decimation in time)."""
    n = len(points)
    if n == 1:
        return [grp.from_affine(points[0])]
    even = _group_dft(points[0::2], grp, root * root % R)
    odd = _group_dft(points[1::2], grp, root * root % R)
    out = [None] * n
    tw = 1
    for k in range(n // 2):
        t = grp.mul(odd[k], tw) if tw != 1 else odd[k]
        out[k] = grp.add(even[k], t)
        out[k + n // 2] = grp.add(even[k], grp.neg(t))
        tw = tw * root % R
    return out  # type: ignore[return-value]


def _lagrange_points_plain(points: Sequence[Any], grp: Any, n: int) -> list[Any]:
    """[L_k(τ)]P for k < n from the monomials [τ^j]P, j < n: L_k(x) = (1/n) Σ_j (w^{-k} x)^j.
    Plain ints, one Python scalar multiplication per butterfly: the fallback, and the reference the
    compiled group FFT is tested against."""
    w_inv = pow(fr_root_of_unity(n), -1, R)
    jac = _group_dft(points[:n], grp, w_inv)
    ninv = pow(n, -1, R)
    return grp.batch_to_affine([grp.mul(p, ninv) for p in jac])


def _lagrange_points(points: Sequence[Any], grp: Any, n: int) -> list[Any]:
    """_lagrange_points_plain on the compiled group FFT (scale_kernel.lagrange_array) when numba is usable."""
    from relayer.zk.field import array_to_g2

    try:
        from relayer.zk.groth16.scale_kernel import lagrange_array
    except ImportError as exc:
        log.info("compiled Lagrange conversion unavailable (%s); using plain Python", exc)
        return _lagrange_points_plain(points, grp, n)
    if grp is G1:
        return array_to_g1(lagrange_array("g1", g1_to_array(points[:n]), n))
    return array_to_g2(lagrange_array("g2", g2_to_array(points[:n]), n))


def _h_points(points: Sequence[G1Point], n: int) -> list[G1Point]:
    """[L^{(2n)}_{2j+1}(τ)]G1 for j < n (the H query basis) from the first 2n powers of τ in G1."""
    try:
        from relayer.zk.groth16.scale_kernel import lagrange_odd_g1_array
    except ImportError as exc:
        log.info("compiled Lagrange conversion unavailable (%s); using plain Python", exc)
        return _lagrange_points_plain(points[: 2 * n], G1, 2 * n)[1::2]
    return array_to_g1(lagrange_odd_g1_array(g1_to_array(points[: 2 * n]), n))


@dataclass
class LagrangeBasis:
    """Phase-1 points over the size-n domain, as snarkjs's prepared .ptau sections 12–15 hold them."""

    n: int
    tau_g1: list[G1Point]  # [L_k(τ)]G1, k < n
    tau_g2: list[G2Point]
    alpha_tau_g1: list[G1Point]
    beta_tau_g1: list[G1Point]
    h_g1: list[G1Point]  # [L^{(2n)}_{2j+1}(τ)]G1, j < n
    alpha_g1: G1Point
    beta_g1: G1Point
    beta_g2: G2Point
    source_hash: str = ""


def lagrange_from_ptau(ptau: PowersOfTau, n: int) -> LagrangeBasis:
    if n > ptau.n:
        raise ProverError(f"circuit needs a domain of {n} but the powers of tau only cover 2^{ptau.power} = {ptau.n}")
    t0 = time.perf_counter()
    basis = LagrangeBasis(
        n=n,
        tau_g1=_lagrange_points(ptau.tau_g1, G1, n),
        tau_g2=_lagrange_points(ptau.tau_g2, G2, n),
        alpha_tau_g1=_lagrange_points(ptau.alpha_tau_g1, G1, n),
        beta_tau_g1=_lagrange_points(ptau.beta_tau_g1, G1, n),
        h_g1=_h_points(ptau.tau_g1, n),
        alpha_g1=ptau.alpha_tau_g1[0],
        beta_g1=ptau.beta_tau_g1[0],
        beta_g2=ptau.beta_g2,
        source_hash=ptau.transcript_hash,
    )
    log.info("phase 1 -> Lagrange basis for domain %d in %.1fs", n, time.perf_counter() - t0)
    return basis


# --- phase 2 ------------------------------------------------------------------------------------
def _sparse_sum(grp: Any, terms: list[tuple[int, Any]]) -> Any:
    acc = grp.inf
    for c, p in terms:
        if p is None:
            continue
        pj = grp.from_affine(p)
        acc = grp.add(acc, pj if c == 1 else grp.mul(pj, c))
    return acc


def _phase2_queries_plain(q: qapmod.QAP, basis: LagrangeBasis) -> tuple[list[G1Point], list[G1Point], list[G2Point], list[G1Point]]:
    """A, B1, B2 and βu + αv + w points per wire with plain-int curve arithmetic."""
    m = q.n_wires
    a_terms: list[list[tuple[int, Any]]] = [[] for _ in range(m)]
    b_terms: list[list[tuple[int, Any]]] = [[] for _ in range(m)]
    b2_terms: list[list[tuple[int, Any]]] = [[] for _ in range(m)]
    l_terms: list[list[tuple[int, Any]]] = [[] for _ in range(m)]  # βu + αv + w
    for mat, row, wire, c in q.coeffs:
        if mat == 0:
            a_terms[wire].append((c, basis.tau_g1[row]))
            l_terms[wire].append((c, basis.beta_tau_g1[row]))
        elif mat == 1:
            b_terms[wire].append((c, basis.tau_g1[row]))
            b2_terms[wire].append((c, basis.tau_g2[row]))
            l_terms[wire].append((c, basis.alpha_tau_g1[row]))
        else:
            l_terms[wire].append((c, basis.tau_g1[row]))
    a = G1.batch_to_affine([_sparse_sum(G1, t) for t in a_terms])
    b1 = G1.batch_to_affine([_sparse_sum(G1, t) for t in b_terms])
    b2 = G2.batch_to_affine([_sparse_sum(G2, t) for t in b2_terms])
    lsum = G1.batch_to_affine([_sparse_sum(G1, t) for t in l_terms])
    return a, b1, b2, lsum


def phase2_new(r1cs: R1CS, basis: LagrangeBasis | PowersOfTau) -> ProvingKey:
    """The circuit's key from phase 1, with δ = 1 (not usable until phase-2 contributions)."""
    q = qapmod.from_r1cs(r1cs)
    if isinstance(basis, PowersOfTau):
        basis = lagrange_from_ptau(basis, q.domain_size)
    if basis.n != q.domain_size:
        raise ProverError(f"Lagrange basis is for domain {basis.n}, the circuit needs {q.domain_size}")
    m, npub = q.n_wires, q.n_public
    try:
        from relayer.zk.groth16.lincomb_kernel import sparse_lincomb_g1, sparse_lincomb_g2
    except ImportError as exc:  # numba unusable: the plain path gives the same points, slower
        log.info("compiled phase-2 combinations unavailable (%s); using plain Python", exc)
        a, b1, b2, lsum = _phase2_queries_plain(q, basis)
        a_arr, b1_arr, b2_arr, l_arr = g1_to_array(a), g1_to_array(b1), g2_to_array(b2), g1_to_array(lsum)
    else:
        n = q.domain_size
        # one term per coefficient; the L sum draws on three bases stacked as [τ | ατ | βτ]
        ab = [c for c in q.coeffs if c[0] < 2]
        a_t = [c for c in ab if c[0] == 0]
        b_t = [c for c in ab if c[0] == 1]
        tau1 = g1_to_array(basis.tau_g1)
        a_arr = sparse_lincomb_g1(tau1, [c[1] for c in a_t], [c[2] for c in a_t], [c[3] for c in a_t], m)
        b1_arr = sparse_lincomb_g1(tau1, [c[1] for c in b_t], [c[2] for c in b_t], [c[3] for c in b_t], m)
        b2_arr = sparse_lincomb_g2(g2_to_array(basis.tau_g2), [c[1] for c in b_t], [c[2] for c in b_t], [c[3] for c in b_t], m)
        stacked = np.concatenate([tau1, g1_to_array(basis.alpha_tau_g1), g1_to_array(basis.beta_tau_g1)])
        offset = {0: 2 * n, 1: n, 2: 0}  # A coefficients pair with βτ, B with ατ, C with τ
        l_arr = sparse_lincomb_g1(stacked, [c[1] + offset[c[0]] for c in q.coeffs], [c[2] for c in q.coeffs],
                                  [c[3] for c in q.coeffs], m)
    ic = tuple(array_to_g1(l_arr[: npub + 1]))
    vk = VerifyingKey(alpha_g1=basis.alpha_g1, beta_g2=basis.beta_g2, gamma_g2=G2_GEN, delta_g2=G2_GEN, ic=ic)
    pk = ProvingKey(
        vk=vk,
        beta_g1=basis.beta_g1,
        delta_g1=G1_GEN,
        qap=q,
        a_query=np.ascontiguousarray(a_arr),
        b1_query=np.ascontiguousarray(b1_arr),
        b2_query=np.ascontiguousarray(b2_arr),
        c_query=np.ascontiguousarray(l_arr[npub + 1 :]).reshape(-1, 2, 4),
        h_query=g1_to_array(basis.h_g1),
        dev=False,
    )
    name = f"phase 2 initial (delta = 1) from phase 1 {basis.source_hash[:16]}"
    pk.contributions.append({"phase": "2", "name": name, "phase1_hash": basis.source_hash, "hash": _chain(basis.source_hash, "2", name, key_material(pk))})
    return pk


def scale_g1_points(points: np.ndarray, k: int) -> np.ndarray:
    """[k]·P for every row of an (n, 2, 4) array: compiled (numba) when available, else plain ints."""
    from relayer.zk.curve import scale_all_g1_fast
    from relayer.zk.pairing import _naf

    if points.shape[0] == 0:
        return points.copy()
    try:
        from relayer.zk.groth16.scale_kernel import scale_g1_array
    except ImportError as exc:  # numba kernels not importable: the plain path is slower, not different
        log.info("compiled point scaling unavailable (%s); using plain Python", exc)
    else:
        return scale_g1_array(points, k % R, _naf(k % R))
    return g1_to_array(scale_all_g1_fast(array_to_g1(points), k)).reshape(-1, 2, 4)


def phase2_contribute(pk: ProvingKey, name: str = "", entropy: bytes = b"") -> ProvingKey:
    """δ ← d·δ with fresh d: δG1, δG2 times d; C and H queries times d^{-1}. Returns a new key."""
    d = fresh_scalar(entropy, b"delta")
    dinv = pow(d, -1, R)
    t0 = time.perf_counter()
    c_arr = scale_g1_points(pk.c_query, dinv)
    h_arr = scale_g1_points(pk.h_query, dinv)
    new = replace(
        pk,
        vk=replace(pk.vk, delta_g2=scale_all_g2([pk.vk.delta_g2], d)[0]),
        delta_g1=scale_all_g1([pk.delta_g1], d)[0],
        c_query=c_arr,
        h_query=h_arr,
        contributions=list(pk.contributions),
        prepared={},
    )
    prev = pk.transcript_hash
    pok = {"delta": _pok(d, _pok_context(prev, "delta"))}
    del d, dinv
    name = name or f"phase 2 contribution {sum(1 for c in pk.contributions if c.get('phase') == '2')}"
    h = _chain(prev, "2", name, key_material(new) + json.dumps(pok, sort_keys=True).encode())
    new.contributions.append({"phase": "2", "name": name, "pok": pok, "hash": h})
    log.info("phase-2 contribution: %d points in %.1fs", len(c_arr) + len(h_arr), time.perf_counter() - t0)
    return new


def phase2_verify_contribution(old: ProvingKey, new: ProvingKey, backend: ProverBackend | str = "cpu") -> None:
    """Check that `new` is `old` plus one valid δ contribution: same history and everything but δ,
    C and H unchanged; a transcript hash that recomputes; a proof of knowledge of d with
    e(new δ1, G2) = e(old δ1, [d]G2) and e(new δ1, G2) = e(G1, new δ2); and C, H divided by the same
    d: e(Σρ_i C'_i, δ'2) = e(Σρ_i C_i, δ2) for random ρ (one MSM per query on `backend`)."""
    from relayer.zk.curve import g1_neg
    from relayer.zk.pairing import pairing_product_is_one as _pairing_product_is_one

    if new.contributions[:-1] != old.contributions or len(new.contributions) != len(old.contributions) + 1:
        raise ProverError("phase 2: the new key does not extend the old one by exactly one contribution")
    same = (
        new.qap == old.qap
        and new.vk.alpha_g1 == old.vk.alpha_g1
        and new.vk.beta_g2 == old.vk.beta_g2
        and new.vk.gamma_g2 == old.vk.gamma_g2
        and new.vk.ic == old.vk.ic
        and new.beta_g1 == old.beta_g1
        and new.dev == old.dev
        and all((getattr(new, f) == getattr(old, f)).all() for f in ("a_query", "b1_query", "b2_query"))
        and new.c_query.shape == old.c_query.shape
        and new.h_query.shape == old.h_query.shape
    )
    if not same:
        raise ProverError("phase 2: the contribution changed more than δ and the C/H queries")
    last = new.contributions[-1]
    pok = last.get("pok") or {}
    prev = old.transcript_hash
    if last["hash"] != _chain(prev, "2", last["name"], key_material(new) + json.dumps(pok, sort_keys=True).encode()):
        raise ProverError("phase 2: the transcript hash of the last contribution does not recompute")
    xd = _pok_check(pok.get("delta"), _pok_context(prev, "delta"), "phase-2 delta")
    if not _pairing_product_is_one([(new.delta_g1, G2_GEN), (g1_neg(old.delta_g1), xd)]):
        raise ProverError("phase 2: new δ is not the old δ times the contributor's proven secret")
    if not _pairing_product_is_one([(new.delta_g1, G2_GEN), (g1_neg(G1_GEN), new.vk.delta_g2)]):
        raise ProverError("phase 2: δ in G1 and δ in G2 differ")
    be = _get_backend(backend)
    for name in ("c_query", "h_query"):
        o, nw = getattr(old, name), getattr(new, name)
        if o.shape[0] == 0:
            continue
        rho = ints_to_limbs([fresh_scalar(label=b"check") for _ in range(o.shape[0])])
        so = be.msm_g1(be.prepare_g1(o), rho)
        sn = be.msm_g1(be.prepare_g1(nw), rho)
        if not _pairing_product_is_one([(sn, new.vk.delta_g2), (g1_neg(so), old.vk.delta_g2)]):
            raise ProverError(f"phase 2: the {name.split('_')[0].upper()} query was not divided by the new δ factor")


def ceremony_setup(r1cs: R1CS, ptau: PowersOfTau | LagrangeBasis, contributions: int = 1, entropy: bytes = b"") -> ProvingKey:
    """Phase 2 from a phase-1 result plus `contributions` local δ contributions (≥ 1)."""
    if contributions < 1:
        raise ProverError("a phase-2 key needs at least one contribution (δ = 1 is public)")
    pk = phase2_new(r1cs, ptau)
    for i in range(contributions):
        pk = phase2_contribute(pk, name=f"local contribution {i + 1}", entropy=entropy)
    return pk
