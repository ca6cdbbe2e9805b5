"""Read and write snarkjs binary key material: Groth16 `.zkey` ↔ ProvingKey, prepared `.ptau` → LagrangeBasis.

Layouts from snarkjs 0.7.6 `src/zkey_utils.js`, `src/zkey_new.js`, `src/powersoftau_preparephase2.js`
(iden3 container, see binfile.py). zkey sections: 1 protocol (u32, 1 = Groth16); 2 header (n8q, q,
n8r, r, nVars, nPublic, domainSize, alpha1, beta1, beta2, gamma2, delta1, delta2); 3 IC; 4 coefficients
(u32 count, then u32 matrix, u32 constraint, u32 signal, Fr); 5 A; 6 B1; 7 B2; 8 C; 9 H; 10 MPC
contributions. Points are affine, coordinates little-endian in Montgomery form (x·2^256 mod q;
infinity = all zeros); section-4 coefficients are stored as c·R² mod r (R = 2^256 mod r) so that one
Montgomery product with a plain witness value yields c·w in Montgomery form. Checked on real files
in tests/test_snarkjs_interop.py.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np

from relayer.errors import FormatError
from relayer.zk.field import Q, R, G1Point, G2Point, array_to_g1, array_to_g2, ints_to_limbs, limbs_to_ints
from relayer.zk.formats.binfile import BinFile, Reader, read_container
from relayer.zk.curve import G1, G2, g1_valid, g2_valid
from relayer.zk.groth16.keys import ProvingKey
from relayer.zk.groth16.qap import QAP
from relayer.zk.groth16.types import VerifyingKey

log = logging.getLogger(__name__)

_RQ_INV = pow(pow(2, 256, Q), -1, Q)
_RR_INV2 = pow(pow(2, 512, R), -1, R)


def _demont_q(raw: bytes, src: str, what: str) -> list[int]:
    """Little-endian Montgomery Fq elements → canonical ints (each must be < q)."""
    vals = limbs_to_ints(np.frombuffer(raw, dtype="<u8").reshape(-1, 4))
    out = []
    for v in vals:
        if v >= Q:
            raise FormatError(f"{src}: {what}: coordinate ≥ q")
        out.append(v * _RQ_INV % Q)
    return out


def _g1_array(raw: bytes, src: str, what: str) -> np.ndarray:
    if len(raw) % 64:
        raise FormatError(f"{src}: {what}: {len(raw)} bytes is not a whole number of G1 points")
    vals = _demont_q(raw, src, what)
    pts = array_to_g1(ints_to_limbs(vals).reshape(-1, 2, 4))
    for i, p in enumerate(pts):
        if not G1.is_on_curve(p):
            raise FormatError(f"{src}: {what}[{i}] is not on the BN254 G1 curve")
    return ints_to_limbs(vals).reshape(-1, 2, 4)


def _g2_array(raw: bytes, src: str, what: str) -> np.ndarray:
    if len(raw) % 128:
        raise FormatError(f"{src}: {what}: {len(raw)} bytes is not a whole number of G2 points")
    vals = _demont_q(raw, src, what)
    arr = ints_to_limbs(vals).reshape(-1, 2, 2, 4)
    for i, p in enumerate(array_to_g2(arr)):
        if not G2.is_on_curve(p):
            raise FormatError(f"{src}: {what}[{i}] is not on the BN254 G2 twist")
    return arr


def _g1(raw: bytes, src: str, what: str) -> G1Point:
    return array_to_g1(_g1_array(raw, src, what))[0]


def _g2(raw: bytes, src: str, what: str, subgroup: bool = True) -> G2Point:
    p = array_to_g2(_g2_array(raw, src, what))[0]
    if subgroup and not g2_valid(p):
        raise FormatError(f"{src}: {what} is not in the BN254 G2 subgroup")
    return p


def _check_primes(rd: Reader, src: str) -> None:
    n8q = rd.u32()
    q = rd.bigint(n8q)
    n8r = rd.u32()
    r = rd.bigint(n8r)
    if (n8q, q, n8r, r) != (32, Q, 32, R):
        raise FormatError(f"{src}: not a BN254 (bn128) key: q/r differ")


def _contributions(bf: BinFile) -> list[dict[str, object]]:
    """snarkjs section 10 → our transcript entries (name and snarkjs's 64-byte transcript, hex)."""
    if not bf.has(10):
        return []
    buf = bytes(bf.section(10))
    cs_hash = buf[:64].hex()
    (n,) = struct.unpack_from("<I", buf, 64)
    out: list[dict[str, object]] = [{"phase": "snarkjs", "name": "circuit hash (blake2b-512)", "hash": cs_hash}]
    pos = 68
    for i in range(n):
        pos += 64 * 3 + 128  # deltaAfter, g1_s, g1_sx, g2_spx
        transcript = buf[pos : pos + 64].hex()
        pos += 64
        _ctype, plen = struct.unpack_from("<II", buf, pos)
        pos += 8
        params = buf[pos : pos + plen]
        pos += plen
        name = ""
        k = 0
        while k < len(params):
            t = params[k]
            if t in (1, 3):
                ln = params[k + 1]
                if t == 1:
                    name = params[k + 2 : k + 2 + ln].decode(errors="replace")
                k += 2 + ln
            elif t == 2:
                k += 2
            else:
                break
        out.append({"phase": "2", "name": name or f"snarkjs contribution {i + 1}", "hash": transcript})
    return out


def read_zkey(path: str | Path) -> ProvingKey:
    """A snarkjs Groth16 .zkey as our ProvingKey (C coefficients are absent: has_c = False)."""
    src = str(path)
    bf = read_container(path, "zkey", 1)
    rd = Reader(bf.section(1), f"{src} section 1")
    if rd.u32() != 1:
        raise FormatError(f"{src}: not a Groth16 zkey (protocol id is not 1)")
    rd = Reader(bf.section(2), f"{src} section 2")
    _check_primes(rd, src)
    n_vars, n_public, domain = rd.u32(), rd.u32(), rd.u32()
    hdr = bytes(bf.section(2))[rd.pos :]
    if len(hdr) != 64 * 3 + 128 * 3:
        raise FormatError(f"{src}: Groth16 header has {len(hdr)} bytes of points, expected 576")
    alpha1 = _g1(hdr[0:64], src, "alpha1")
    beta1 = _g1(hdr[64:128], src, "beta1")
    beta2 = _g2(hdr[128:256], src, "beta2")
    gamma2 = _g2(hdr[256:384], src, "gamma2")
    delta1 = _g1(hdr[384:448], src, "delta1")
    delta2 = _g2(hdr[448:576], src, "delta2")
    if domain & (domain - 1) or domain == 0 or domain < n_public + 1:
        raise FormatError(f"{src}: domain size {domain} is not a usable power of two")
    ic = array_to_g1(_g1_array(bytes(bf.section(3)), src, "IC"))
    if len(ic) != n_public + 1:
        raise FormatError(f"{src}: IC has {len(ic)} points, expected nPublic + 1 = {n_public + 1}")

    crd = Reader(bf.section(4), f"{src} section 4")
    count = crd.u32()
    coeffs = []
    max_row_a = -1
    for _ in range(count):
        mat, row, wire = crd.u32(), crd.u32(), crd.u32()
        raw = crd.bigint(32)
        if mat > 1 or wire >= n_vars or row >= domain or raw >= R:
            raise FormatError(f"{src}: coefficient ({mat}, {row}, {wire}) out of range")
        coeffs.append((mat, row, wire, raw * _RR_INV2 % R))
        if mat == 0:
            max_row_a = max(max_row_a, row)
    crd.expect_end()
    coeffs.sort(key=lambda c: (c[0], c[1], c[2]))
    # the binding rows (one per public signal, incl. the constant) are the last A rows
    n_constraints = max_row_a - n_public
    if n_constraints < 0:
        raise FormatError(f"{src}: coefficient section lacks the public-input binding rows")
    qap = QAP(n_vars, n_public, n_constraints, domain, tuple(coeffs), has_c=False)
    pk = ProvingKey(
        vk=VerifyingKey(alpha_g1=alpha1, beta_g2=beta2, gamma_g2=gamma2, delta_g2=delta2, ic=tuple(ic)),
        beta_g1=beta1,
        delta_g1=delta1,
        qap=qap,
        a_query=_g1_array(bytes(bf.section(5)), src, "A"),
        b1_query=_g1_array(bytes(bf.section(6)), src, "B1"),
        b2_query=_g2_array(bytes(bf.section(7)), src, "B2"),
        c_query=_g1_array(bytes(bf.section(8)), src, "C"),
        h_query=_g1_array(bytes(bf.section(9)), src, "H"),
        dev=False,
        contributions=_contributions(bf),
    )
    pk.check_shapes()
    for name, p in (("alpha1", alpha1), ("beta1", beta1), ("delta1", delta1)):
        if p is None or not g1_valid(p):
            raise FormatError(f"{src}: {name} is invalid")
    if delta1 == (1, 2):
        log.warning("%s: zkey has no phase-2 contribution (delta = 1): anyone can forge proofs for it", src)
    return pk


def read_snarkjs_ptau(path: str | Path, n: int) -> "LagrangeBasis":
    """The Lagrange-basis points for domain size n from a snarkjs *prepared* .ptau (sections 12–15)."""
    from relayer.zk.groth16.setup import LagrangeBasis

    src = str(path)
    bf = read_container(path, "ptau", 1)
    rd = Reader(bf.section(1), f"{src} section 1")
    n8 = rd.u32()
    if n8 != 32 or rd.bigint(32) != Q:
        raise FormatError(f"{src}: not a bn128 powers-of-tau file")
    power = rd.u32()
    if n > 1 << power:
        raise FormatError(f"{src}: covers domains up to 2^{power} = {1 << power}, the circuit needs {n}")
    if not bf.has(12):
        raise FormatError(f"{src}: not prepared for phase 2; run `snarkjs powersoftau prepare phase2` first")
    s12 = bytes(bf.section(12))
    tau_g1 = _g1_array(s12[(n - 1) * 64 : (2 * n - 1) * 64], src, "tauG1 Lagrange")
    h_all = _g1_array(s12[(2 * n - 1) * 64 : (4 * n - 1) * 64], src, "tauG1 Lagrange (2n)")
    tau_g2 = _g2_array(bytes(bf.section(13))[(n - 1) * 128 : (2 * n - 1) * 128], src, "tauG2 Lagrange")
    alpha = _g1_array(bytes(bf.section(14))[(n - 1) * 64 : (2 * n - 1) * 64], src, "alphaTauG1 Lagrange")
    beta = _g1_array(bytes(bf.section(15))[(n - 1) * 64 : (2 * n - 1) * 64], src, "betaTauG1 Lagrange")
    if tau_g1.shape[0] != n or h_all.shape[0] != 2 * n:
        raise FormatError(f"{src}: Lagrange sections are too short for domain {n}")
    contrib = b""
    if bf.has(7):
        contrib = bytes(bf.section(7))
    import hashlib

    return LagrangeBasis(
        n=n,
        tau_g1=array_to_g1(tau_g1),
        tau_g2=array_to_g2(tau_g2),
        alpha_tau_g1=array_to_g1(alpha),
        beta_tau_g1=array_to_g1(beta),
        h_g1=array_to_g1(h_all)[1::2],
        alpha_g1=_g1(bytes(bf.section(4))[:64], src, "alpha1"),
        beta_g1=_g1(bytes(bf.section(5))[:64], src, "beta1"),
        beta_g2=_g2(bytes(bf.section(6))[:128], src, "beta2"),
        source_hash=hashlib.sha256(contrib + s12[:64 * 4]).hexdigest(),
    )


# --- writing -------------------------------------------------------------------------------------
_RQ = pow(2, 256, Q)
_RR2 = pow(2, 512, R)


def _mont_q_bytes(arr: np.ndarray) -> bytes:
    """Canonical affine point array (any shape ending in 4 limbs) → Montgomery LE bytes; zeros stay zeros."""
    vals = limbs_to_ints(arr)
    return b"".join((v * _RQ % Q).to_bytes(32, "little") for v in vals)


def zkey_bytes(pk: ProvingKey) -> bytes:
    """Our ProvingKey as a snarkjs Groth16 .zkey (sections 1–10; section 10 lists no snarkjs
    contributions: our transcript lives in our own key files). snarkjs can prove with it and
    export its verification key; `snarkjs zkey verify` cannot replay our ceremony."""
    from relayer.zk.field import g1_to_array, g2_to_array
    from relayer.zk.formats.binfile import write_container

    pk.check_shapes()
    q = pk.qap
    vk = pk.vk
    hdr = struct.pack("<I", 32) + Q.to_bytes(32, "little") + struct.pack("<I", 32) + R.to_bytes(32, "little")
    hdr += struct.pack("<III", q.n_wires, q.n_public, q.domain_size)
    hdr += _mont_q_bytes(g1_to_array([vk.alpha_g1, pk.beta_g1]))
    hdr += _mont_q_bytes(g2_to_array([vk.beta_g2, vk.gamma_g2]))
    hdr += _mont_q_bytes(g1_to_array([pk.delta_g1]))
    hdr += _mont_q_bytes(g2_to_array([vk.delta_g2]))
    ab = [c for c in q.coeffs if c[0] < 2]
    coefs = struct.pack("<I", len(ab)) + b"".join(
        struct.pack("<III", m, row, wire) + (v * _RR2 % R).to_bytes(32, "little") for m, row, wire, v in ab
    )
    import hashlib

    sections = [
        (1, struct.pack("<I", 1)),
        (2, hdr),
        (3, _mont_q_bytes(g1_to_array(list(vk.ic)))),
        (4, coefs),
        (5, _mont_q_bytes(pk.a_query)),
        (6, _mont_q_bytes(pk.b1_query)),
        (7, _mont_q_bytes(pk.b2_query)),
        (8, _mont_q_bytes(pk.c_query)),
        (9, _mont_q_bytes(pk.h_query)),
        (10, hashlib.blake2b(hdr + coefs, digest_size=64).digest() + struct.pack("<I", 0)),
    ]
    return write_container("zkey", 1, sections)


def write_zkey(path: str | Path, pk: ProvingKey) -> None:
    Path(path).write_bytes(zkey_bytes(pk))
