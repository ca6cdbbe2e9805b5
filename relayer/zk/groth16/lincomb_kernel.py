"""Compiled sparse linear combinations of points for phase 2: out[dest_t] += c_t · P[src_t].

Phase 2 turns the phase-1 Lagrange points into the circuit's queries (A_i = Σ_rows a_{row,i} L_row,
…): one term per R1CS coefficient. Each term is a double-and-add over min(c, r − c) (R1CS
coefficients are mostly 1, −1 or powers of two, so most terms cost a few doublings), computed in
parallel with the generated numba primitives of `relayer.zk.arith.kernels`, then summed per
destination and normalised with one inversion per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from relayer.errors import FormatError
from relayer.zk.arith import kernels as k
from relayer.zk.field import R, ints_to_limbs

# The generated kernels are another module's internals: if a primitive this file uses is gone,
# fail the import so that callers take their plain-int path instead of failing at JIT time.
_NEEDED = ('G1_INF', 'G2_INF', 'fq2_neg', 'fq_neg', 'g1_add', 'g1_dbl', 'g1_jac_zeros', 'g1_ld', 'g1_ld_jac', 'g1_madd', 'g1_normalize', 'g1_prepare', 'g1_st_jac', 'g2_add', 'g2_dbl', 'g2_jac_zeros', 'g2_ld', 'g2_ld_jac', 'g2_madd', 'g2_normalize', 'g2_prepare', 'g2_st_jac')
_missing = [name for name in _NEEDED if not hasattr(k, name)]
if _missing:
    raise ImportError(f"relayer.zk.arith.kernels lacks {', '.join(_missing)}")


@njit(cache=True)
def _top_bit(s: np.ndarray, t: int) -> int:
    for w in range(3, -1, -1):
        v = s[t, w]
        if v != 0:
            b = 63
            while (v >> np.uint64(b)) & np.uint64(1) == 0:
                b -= 1
            return 64 * w + b
    return -1


@njit(cache=True, parallel=True)
def _g1_terms(aff: np.ndarray, status: np.ndarray, src: np.ndarray, scal: np.ndarray, neg: np.ndarray, out: np.ndarray) -> None:
    for t in prange(src.shape[0]):
        p = src[t]
        if status[p] != 0:
            continue  # infinity: the term is zero (out row has Z = 0)
        x = k.g1_ld(aff, p, 0)
        y = k.g1_ld(aff, p, 1)
        if neg[t]:
            y = k.fq_neg(y)
        acc = k.G1_INF
        for bit in range(_top_bit(scal, t), -1, -1):
            acc = k.g1_dbl(acc)
            if (scal[t, bit >> 6] >> np.uint64(bit & 63)) & np.uint64(1):
                acc = k.g1_madd(acc, x, y)
        k.g1_st_jac(out, t, acc)


@njit(cache=True)
def _g1_sum(terms: np.ndarray, dest: np.ndarray, out: np.ndarray) -> None:
    for t in range(dest.shape[0]):
        d = dest[t]
        k.g1_st_jac(out, d, k.g1_add(k.g1_ld_jac(out, d), k.g1_ld_jac(terms, t)))


@njit(cache=True, parallel=True)
def _g2_terms(aff: np.ndarray, status: np.ndarray, src: np.ndarray, scal: np.ndarray, neg: np.ndarray, out: np.ndarray) -> None:
    for t in prange(src.shape[0]):
        p = src[t]
        if status[p] != 0:
            continue
        x = k.g2_ld(aff, p, 0)
        y = k.g2_ld(aff, p, 1)
        if neg[t]:
            y = k.fq2_neg(y)
        acc = k.G2_INF
        for bit in range(_top_bit(scal, t), -1, -1):
            acc = k.g2_dbl(acc)
            if (scal[t, bit >> 6] >> np.uint64(bit & 63)) & np.uint64(1):
                acc = k.g2_madd(acc, x, y)
        k.g2_st_jac(out, t, acc)


@njit(cache=True)
def _g2_sum(terms: np.ndarray, dest: np.ndarray, out: np.ndarray) -> None:
    for t in range(dest.shape[0]):
        d = dest[t]
        k.g2_st_jac(out, d, k.g2_add(k.g2_ld_jac(out, d), k.g2_ld_jac(terms, t)))


def _scalars(coefs: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """min(c, r − c) as limbs and whether the point must be negated (short chains for c = −1, −2^i)."""
    small = []
    neg = np.zeros(len(coefs), dtype=np.int8)
    for i, c in enumerate(coefs):
        c %= R
        if c > R - c:
            small.append(R - c)
            neg[i] = 1
        else:
            small.append(c)
    arr = ints_to_limbs(small) if small else np.zeros((0, 4), dtype=np.uint64)
    return arr, neg


def _chunks(n: int) -> int:
    return max(1, min(64, n // 1024))


def sparse_lincomb_g1(bases: np.ndarray, src: Sequence[int], dest: Sequence[int], coefs: Sequence[int], n_out: int) -> np.ndarray:
    """out[dest[t]] += coefs[t] · bases[src[t]] over G1; (n_out, 2, 4) canonical affine."""
    aff, status = k.g1_prepare(np.ascontiguousarray(bases, dtype=np.uint64))
    if np.any(status >= 2):
        raise FormatError(f"phase-1 point {int(np.argmax(status >= 2))} is not a valid G1 point")
    scal, neg = _scalars(coefs)
    src_a = np.asarray(src, dtype=np.int64)
    terms = k.g1_jac_zeros(len(src_a))
    _g1_terms(aff, status, src_a, scal, neg, terms)
    out = k.g1_jac_zeros(n_out)
    _g1_sum(terms, np.asarray(dest, dtype=np.int64), out)
    return k.g1_normalize(out, _chunks(n_out), True)


def sparse_lincomb_g2(bases: np.ndarray, src: Sequence[int], dest: Sequence[int], coefs: Sequence[int], n_out: int) -> np.ndarray:
    """As sparse_lincomb_g1 over G2; (n_out, 2, 2, 4) canonical affine."""
    aff, status = k.g2_prepare(np.ascontiguousarray(bases, dtype=np.uint64))
    if np.any(status >= 2):
        raise FormatError(f"phase-1 point {int(np.argmax(status >= 2))} is not a valid G2 point")
    scal, neg = _scalars(coefs)
    src_a = np.asarray(src, dtype=np.int64)
    terms = k.g2_jac_zeros(len(src_a))
    _g2_terms(aff, status, src_a, scal, neg, terms)
    out = k.g2_jac_zeros(n_out)
    _g2_sum(terms, np.asarray(dest, dtype=np.int64), out)
    return k.g2_normalize(out, _chunks(n_out), True)
