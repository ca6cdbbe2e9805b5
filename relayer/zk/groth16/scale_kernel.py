"""Compiled point scaling for the setup ceremony: "one scalar times many G1 points" (phase-2 δ updates),
"each point times its own scalar" for G1 and G2 (phase-1 contributions), and the radix-2 group FFT that
turns phase-1 powers [τ^j]P into the Lagrange basis [L_k(τ)]P.

The backend interface has no such operations (MSM and fixed-base are the other way round), so this
composes the generated numba field/curve primitives of `relayer.zk.arith.kernels` (Jacobian
dbl-2009-l, mixed madd-2007-bl, add-2007-bl, batch normalisation): every point is its own prange lane.
Per-lane scalars are recoded to NAF on the fly from k and 3k: digit i is bit_{i+1}(3k) − bit_{i+1}(k)
(Σ_i (bit_{i+1}(3k) − bit_{i+1}(k))·2^i = ⌊3k/2⌋ − ⌊k/2⌋ = k; Hankerson–Menezes–Vanstone, Guide to
ECC, §3.3.1), so no per-lane digit buffer is needed. Scalars must be reduced mod r (< 2^254: 3k fits
in four limbs). G1 lanes first split k = k1 + λ·k2 (GLV endomorphism), halving their doublings.
"""

from __future__ import annotations

from math import isqrt

import numba
import numpy as np
from numba import njit, prange

from relayer.errors import FormatError
from relayer.zk.arith import kernels as k
from relayer.zk.arith.intrinsics import adc
from relayer.zk.field import Q, R, first_not_below, fr_root_of_unity, ints_to_limbs, limbs_to_ints

# The generated kernels are another module's internals: if a primitive this file uses is gone,
# fail the import so that callers take their plain-int path instead of failing at JIT time.
_NEEDED = (
    'G1_INF', 'fq_neg', 'fq_is_zero', 'g1_dbl', 'g1_add', 'g1_neg', 'g1_jac_zeros', 'g1_ld', 'g1_ld_jac', 'g1_madd',
    'g1_normalize', 'g1_prepare', 'g1_st_jac', 'FQ_ONE',
    'G2_INF', 'fq2_neg', 'fq2_is_zero', 'g2_dbl', 'g2_add', 'g2_neg', 'g2_jac_zeros', 'g2_ld', 'g2_ld_jac', 'g2_madd',
    'g2_normalize', 'g2_prepare', 'g2_st_jac', 'FQ2_ONE',
)
_missing = [name for name in _NEEDED if not hasattr(k, name)]
if _missing:
    raise ImportError(f"relayer.zk.arith.kernels lacks {', '.join(_missing)}")

_U1 = np.uint64(1)
_U63 = np.uint64(63)
_Z = np.uint64(0)


# --- one scalar, many G1 points ----------------------------------------------------------------
@njit(cache=True, parallel=True)
def _scale_kernel(aff: np.ndarray, status: np.ndarray, naf: np.ndarray, out: np.ndarray) -> None:
    n = aff.shape[0]
    for i in prange(n):
        if status[i] != 0:
            continue  # infinity stays infinity (out rows are Z = 0)
        x = k.g1_ld(aff, i, 0)
        y = k.g1_ld(aff, i, 1)
        ny = k.fq_neg(y)
        acc = k.G1_INF
        for j in range(naf.shape[0]):
            acc = k.g1_dbl(acc)
            d = naf[j]
            if d == 1:
                acc = k.g1_madd(acc, x, y)
            elif d == -1:
                acc = k.g1_madd(acc, x, ny)
        k.g1_st_jac(out, i, acc)


def scale_g1_array(points: np.ndarray, scalar: int, naf_digits: list[int]) -> np.ndarray:
    """[scalar]·P for every row of an (n, 2, 4) canonical affine array; returns the same layout."""
    aff, status = k.g1_prepare(np.ascontiguousarray(points, dtype=np.uint64))
    if np.any(status >= 2):
        bad = int(np.argmax(status >= 2))
        raise FormatError(f"point {bad} of the key is not a valid G1 point")
    out = k.g1_jac_zeros(points.shape[0])  # Z = 0: infinity unless the kernel writes the row
    _scale_kernel(aff, status, np.array(naf_digits, dtype=np.int8), out)
    return k.g1_normalize(out, _chunks(points.shape[0]), True)


# --- each point times its own scalar -----------------------------------------------------------
@njit(cache=True, parallel=True)
def _triple(ks: np.ndarray) -> np.ndarray:
    """3k per row of an (n, 4) limb array of k < 2^254 (so 3k < 2^256)."""
    n = ks.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    for i in prange(n):
        c = _Z
        prev = _Z
        for j in range(4):
            limb = ks[i, j]
            dbl = (limb << _U1) | (prev >> _U63)
            s, c = adc(limb, dbl, c)
            out[i, j] = s
            prev = limb
    return out


@njit(cache=True, inline="always")
def _digit(ks: np.ndarray, hs: np.ndarray, row: int, bit: int) -> int:
    """NAF digit bit−1 of row's scalar: bit_bit(3k) − bit_bit(k)."""
    w = bit >> 6
    sh = np.uint64(bit & 63)
    hb = (hs[row, w] >> sh) & _U1
    kb = (ks[row, w] >> sh) & _U1
    if hb == kb:
        return 0
    return 1 if hb == _U1 else -1


# GLV (Gallant–Lambert–Vanstone 2001) on G1: φ(x, y) = (βx, y) equals [λ](x, y), β a cube root of unity
# in Fq and λ one in Fr (the matching pair, checked against the curve in tests/test_ceremony_fast.py).
# k = k1 + λ·k2 mod r with |k1|, |k2| < 2^128 halves the doublings of every G1 lane.
GLV_BETA = 2203960485148121921418603742825762020974279258880205651966
GLV_LAMBDA = 4407920970296243842393367215006156084916469457145843978461
_BETA_M = tuple(np.uint64(((GLV_BETA << 256) % Q >> (64 * i)) & ((1 << 64) - 1)) for i in range(4))
GLV_BITS = 128  # bound on |k1|, |k2|, asserted by glv_split; NAF digits then stop below bit 130


def _glv_basis() -> tuple[int, int, int, int]:
    """Short basis (a1, b1), (a2, b2) of {(x, y): x + λy ≡ 0 mod r} from the extended Euclidean
    algorithm on (r, λ) (Guide to ECC, Hankerson–Menezes–Vanstone, Algorithm 3.74)."""
    r0, r1, t0, t1 = R, GLV_LAMBDA, 0, 1
    rows = [(r0, t0), (r1, t1)]
    while r1:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
        rows.append((r1, t1))
    lim = isqrt(R)
    el = max(i for i, (ri, _) in enumerate(rows) if ri >= lim)
    a1, b1 = rows[el + 1][0], -rows[el + 1][1]
    c = [(rows[el][0], -rows[el][1]), (rows[el + 2][0], -rows[el + 2][1])]
    a2, b2 = min(c, key=lambda v: v[0] * v[0] + v[1] * v[1])
    return a1, b1, a2, b2


_A1, _B1, _A2, _B2 = _glv_basis()


def glv_split(k_: int) -> tuple[int, int]:
    """(k1, k2) with k1 + λ·k2 ≡ k mod r and |k1|, |k2| < 2^128 (Babai rounding in the basis above)."""
    c1 = (2 * _B2 * k_ + R) // (2 * R)
    c2 = (-2 * _B1 * k_ + R) // (2 * R)
    k1 = k_ - c1 * _A1 - c2 * _A2
    k2 = -c1 * _B1 - c2 * _B2
    if abs(k1) >> GLV_BITS or abs(k2) >> GLV_BITS:  # cannot happen for k < r; a bad basis would do it
        raise FormatError(f"GLV split of {k_} is too long")
    return k1, k2


def _g1_pack(values: list[int]) -> tuple[np.ndarray, ...]:
    """Lane scalars for the G1 kernels: |k1|, 3|k1|, |k2|, 3|k2| as (n, 4) limbs and the signs (n, 2)."""
    n = len(values)
    splits = [glv_split(v) for v in values]
    k1 = ints_to_limbs([abs(a) for a, _ in splits], n)
    k2 = ints_to_limbs([abs(b) for _, b in splits], n)
    sg = np.array([(a < 0, b < 0) for a, b in splits], dtype=np.int8).reshape(n, 2)
    return k1, _triple(k1), k2, _triple(k2), sg


def _g2_pack(values: list[int]) -> tuple[np.ndarray, ...]:
    ks = ints_to_limbs(values, len(values))
    return ks, _triple(ks)


def _pack(group: str, values: list[int]) -> tuple[np.ndarray, ...]:
    return _g1_pack(values) if group == "g1" else _g2_pack(values)


@njit(cache=True)
def _g1_mul_lane(x, y, k1, h1, k2, h2, sg, row):  # type: ignore[no-untyped-def]
    """[k1 + λ·k2]·(x, y) = [k1](x, y) + [k2](βx, y) as one Jacobian point, both NAFs in one
    double-and-add loop; (x, y) affine Montgomery, not infinity; a negative half negates its base."""
    bx = k.fq_mul(x, _BETA_M)
    y1 = k.fq_neg(y) if sg[row, 0] else y
    y2 = k.fq_neg(y) if sg[row, 1] else y
    ny1 = k.fq_neg(y1)
    ny2 = k.fq_neg(y2)
    acc = k.G1_INF
    for bit in range(GLV_BITS + 2, 0, -1):
        acc = k.g1_dbl(acc)
        d = _digit(k1, h1, row, bit)
        if d == 1:
            acc = k.g1_madd(acc, x, y1)
        elif d == -1:
            acc = k.g1_madd(acc, x, ny1)
        d = _digit(k2, h2, row, bit)
        if d == 1:
            acc = k.g1_madd(acc, bx, y2)
        elif d == -1:
            acc = k.g1_madd(acc, bx, ny2)
    return acc


@njit(cache=True)
def _g2_mul_lane(x, y, ks, hs, row):  # type: ignore[no-untyped-def]
    ny = k.fq2_neg(y)
    acc = k.G2_INF
    for bit in range(255, 0, -1):
        acc = k.g2_dbl(acc)
        d = _digit(ks, hs, row, bit)
        if d == 1:
            acc = k.g2_madd(acc, x, y)
        elif d == -1:
            acc = k.g2_madd(acc, x, ny)
    return acc


@njit(cache=True, parallel=True)
def _each_g1_kernel(aff: np.ndarray, status: np.ndarray, k1: np.ndarray, h1: np.ndarray, k2: np.ndarray,
                    h2: np.ndarray, sg: np.ndarray, out: np.ndarray) -> None:
    for i in prange(aff.shape[0]):
        if status[i] != 0:
            continue  # infinity stays infinity (out rows are Z = 0)
        k.g1_st_jac(out, i, _g1_mul_lane(k.g1_ld(aff, i, 0), k.g1_ld(aff, i, 1), k1, h1, k2, h2, sg, i))


@njit(cache=True, parallel=True)
def _each_g2_kernel(aff: np.ndarray, status: np.ndarray, ks: np.ndarray, hs: np.ndarray, out: np.ndarray) -> None:
    for i in prange(aff.shape[0]):
        if status[i] != 0:
            continue
        k.g2_st_jac(out, i, _g2_mul_lane(k.g2_ld(aff, i, 0), k.g2_ld(aff, i, 1), ks, hs, i))


def _chunks(n: int) -> int:
    """Chunks for batch normalisation: one inversion each, enough of them to keep every thread busy."""
    return max(1, min(n // 256, 8 * numba.get_num_threads()))


def _scalar_limbs(scalars: np.ndarray | list[int], n: int) -> np.ndarray:
    ks = np.ascontiguousarray(scalars if isinstance(scalars, np.ndarray) else ints_to_limbs(s % R for s in scalars),
                              dtype=np.uint64).reshape(-1, 4)
    if ks.shape[0] != n:
        raise FormatError(f"{ks.shape[0]} scalars for {n} points")
    bad = first_not_below(ks, R)
    if bad >= 0:
        raise FormatError(f"scalar {bad} is not reduced mod r")
    return ks


def _prepared(group: str, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prep = k.g1_prepare if group == "g1" else k.g2_prepare
    aff, status = prep(np.ascontiguousarray(points, dtype=np.uint64))
    bad = np.flatnonzero(status >= 2)
    if bad.size:
        i = int(bad[0])
        why = "has a coordinate >= q" if status[i] == 2 else "is not on the curve"
        raise FormatError(f"{group.upper()} point {i} {why}; {bad.size} bad points in all")
    return aff, status


def scale_each_g1_array(points: np.ndarray, scalars: np.ndarray | list[int]) -> np.ndarray:
    """[scalars[i]]·points[i] for an (n, 2, 4) canonical affine array; scalars as ints (reduced here)
    or an (n, 4) limb array of values below r. Returns canonical affine (n, 2, 4), infinity as zeros."""
    n = points.shape[0]
    if isinstance(scalars, np.ndarray):
        values = limbs_to_ints(_scalar_limbs(scalars, n))
    else:
        values = [s % R for s in scalars]
        if len(values) != n:
            raise FormatError(f"{len(values)} scalars for {n} points")
    aff, status = _prepared("g1", points)
    out = k.g1_jac_zeros(n)
    if n:
        _each_g1_kernel(aff, status, *_g1_pack(values), out)
    return k.g1_normalize(out, _chunks(n), True)


def scale_each_g2_array(points: np.ndarray, scalars: np.ndarray | list[int]) -> np.ndarray:
    """G2 version of scale_each_g1_array: (n, 2, 2, 4) canonical affine in and out. Only the curve
    equation is checked, not the subgroup: scaling is defined for any point of the twist."""
    n = points.shape[0]
    ks = _scalar_limbs(scalars, n)
    aff, status = _prepared("g2", points)
    out = k.g2_jac_zeros(n)
    if n:
        _each_g2_kernel(aff, status, ks, _triple(ks), out)
    return k.g2_normalize(out, _chunks(n), True)


# --- group FFT: powers of τ → Lagrange basis ---------------------------------------------------
@njit(cache=True, parallel=True)
def _fft_layer_g1(a: np.ndarray, aff: np.ndarray, k1: np.ndarray, h1: np.ndarray, k2: np.ndarray, h2: np.ndarray,
                  sg: np.ndarray, h: int) -> None:
    """One radix-2 decimation-in-time layer in place on Jacobian `a` (bit-reversed order):
    (a[i], a[i+h]) ← (a[i] + w_j·a[i+h], a[i] − w_j·a[i+h]), j = i mod h, w_j = tw[j];
    aff is `a` normalised to affine (zeros for infinity), the base of the twiddle multiplication."""
    for b in prange(a.shape[0] // 2):
        blk = b // h
        j = b - blk * h
        i = blk * 2 * h + j
        x = k.g1_ld(aff, i + h, 0)
        y = k.g1_ld(aff, i + h, 1)
        if k.fq_is_zero(x) and k.fq_is_zero(y):
            t = k.G1_INF  # (0, 0) is not on the curve: it is how normalisation writes infinity
        elif j == 0:
            t = (x, y, k.FQ_ONE)
        else:
            t = _g1_mul_lane(x, y, k1, h1, k2, h2, sg, j)
        p = k.g1_ld_jac(a, i)
        k.g1_st_jac(a, i, k.g1_add(p, t))
        k.g1_st_jac(a, i + h, k.g1_add(p, k.g1_neg(t)))


@njit(cache=True, parallel=True)
def _fft_layer_g2(a: np.ndarray, aff: np.ndarray, ks: np.ndarray, hs: np.ndarray, h: int) -> None:
    for b in prange(a.shape[0] // 2):
        blk = b // h
        j = b - blk * h
        i = blk * 2 * h + j
        x = k.g2_ld(aff, i + h, 0)
        y = k.g2_ld(aff, i + h, 1)
        if k.fq2_is_zero(x) and k.fq2_is_zero(y):
            t = k.G2_INF
        elif j == 0:
            t = (x, y, k.FQ2_ONE)
        else:
            t = _g2_mul_lane(x, y, ks, hs, j)
        p = k.g2_ld_jac(a, i)
        k.g2_st_jac(a, i, k.g2_add(p, t))
        k.g2_st_jac(a, i + h, k.g2_add(p, k.g2_neg(t)))


def _bit_reversal(n: int) -> np.ndarray:
    logn = n.bit_length() - 1
    idx = np.arange(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(logn):
        rev |= ((idx >> b) & 1) << (logn - 1 - b)
    return rev


def _twiddle_powers(n: int) -> list[int]:
    """ω^{-m} for m < n/2 (at least one entry): the layer of half-size h uses every (n/2h)-th one."""
    w_inv = pow(fr_root_of_unity(n), -1, R)
    pw = [1] * max(1, n // 2)
    for m in range(1, n // 2):
        pw[m] = pw[m - 1] * w_inv % R
    return pw


def _group_dft(group: str, a: np.ndarray) -> np.ndarray:
    """out[k] = Σ_j ω^{-jk}·a[j] over an (n, 3, …) Jacobian Montgomery array, ω = fr_root_of_unity(n):
    bit-reversal, then log2(n) butterfly layers of n/2 lanes each. Returns Jacobian."""
    n = a.shape[0]
    layer = _fft_layer_g1 if group == "g1" else _fft_layer_g2
    normalize = k.g1_normalize if group == "g1" else k.g2_normalize
    a = np.ascontiguousarray(a[_bit_reversal(n)])
    pw = _twiddle_powers(n)
    h = 1
    while h < n:
        layer(a, normalize(a, _chunks(n), False), *_pack(group, pw[:: n // (2 * h)][:h]), h)
        h *= 2
    return a


def lagrange_array(group: str, points: np.ndarray, n: int) -> np.ndarray:
    """[L_k(τ)]P for k < n from the canonical affine monomials [τ^j]P (first n rows of `points`),
    L_k(x) = (1/n) Σ_j (ω^{-k} x)^j with ω = fr_root_of_unity(n): out[k] = Σ_j ω^{-jk}·(1/n)[τ^j]P.
    The inputs are scaled by 1/n first (per-point kernel), then the group DFT. Returns canonical
    affine rows (infinity as zeros)."""
    _check_size(points, n, n)
    g1 = group == "g1"
    aff, status = _prepared(group, points[:n])
    a = (k.g1_jac_zeros if g1 else k.g2_jac_zeros)(n)
    (_each_g1_kernel if g1 else _each_g2_kernel)(aff, status, *_pack(group, [pow(n, -1, R)] * n), a)
    return (k.g1_normalize if g1 else k.g2_normalize)(_group_dft(group, a), _chunks(n), True)


def _check_size(points: np.ndarray, n: int, rows: int) -> None:
    if n < 1 or n & (n - 1):
        raise FormatError(f"Lagrange basis size {n} is not a power of two")
    if points.shape[0] < rows:
        raise FormatError(f"{points.shape[0]} points for a Lagrange basis that needs {rows}")


@njit(cache=True, parallel=True)
def _sub_halves_g1(aff: np.ndarray, status: np.ndarray, n: int, out: np.ndarray) -> None:
    """out[m] = aff[m] − aff[m + n] (Jacobian) for m < n; status 1 marks infinity."""
    for m in prange(n):
        pi = status[m] != 0
        qi = status[m + n] != 0
        if pi and qi:
            continue  # out row stays Z = 0
        xq = k.g1_ld(aff, m + n, 0)
        nyq = k.fq_neg(k.g1_ld(aff, m + n, 1))
        if pi:
            r = (xq, nyq, k.FQ_ONE)
        elif qi:
            r = (k.g1_ld(aff, m, 0), k.g1_ld(aff, m, 1), k.FQ_ONE)
        else:
            r = k.g1_madd((k.g1_ld(aff, m, 0), k.g1_ld(aff, m, 1), k.FQ_ONE), xq, nyq)
        k.g1_st_jac(out, m, r)


def lagrange_odd_g1_array(points: np.ndarray, n: int) -> np.ndarray:
    """[L^{(2n)}_{2j+1}(τ)]P for j < n (the H query basis) from the first 2n monomials [τ^m]P.
    Only the odd outputs of the size-2n transform are needed, and (ω_2n^n = −1)
        out[2j+1] = Σ_{m<n} ω_n^{-jm} · (ω_2n^{-m}/(2n))·([τ^m]P − [τ^{m+n}]P),
    a size-n DFT of twisted differences (decimation in frequency): about half the work of the full
    size-2n transform. The 1/(2n) rides on the twist scalars. Canonical affine rows out."""
    _check_size(points, n, 2 * n)
    aff, status = _prepared("g1", points[: 2 * n])
    diff = k.g1_jac_zeros(n)
    _sub_halves_g1(aff, status, n, diff)
    daff = k.g1_normalize(diff, _chunks(n), False)
    dstatus = np.all(daff == 0, axis=(1, 2)).astype(np.int8)  # (0, 0) is how normalisation writes ∞
    w2 = pow(fr_root_of_unity(2 * n), -1, R)
    c = pow(2 * n, -1, R)
    tw = [0] * n
    for m in range(n):
        tw[m] = c
        c = c * w2 % R
    a = k.g1_jac_zeros(n)
    _each_g1_kernel(daff, dstatus, *_g1_pack(tw), a)
    return k.g1_normalize(_group_dft("g1", a), _chunks(n), True)
