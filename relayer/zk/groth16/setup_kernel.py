"""Compiled scalar side of `dev_setup`: Lagrange values at τ, wire polynomials, the query scalars.

Same values as the plain-int path in setup.py (`setup_scalars_plain`), on 4 × 64-bit Montgomery limbs
with the generated numba primitives of `relayer.zk.arith.kernels`, so that a 2^20-constraint dev
setup is bound by the backend's fixed-base multiplications, not by Python integers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from relayer.zk.arith import kernels as k
from relayer.zk.field import R, fr_root_of_unity, ints_to_limbs
from relayer.zk.groth16.qap import QAP
from relayer.zk.groth16.qap_kernel import _accumulate, coefficient_arrays

_NEEDED = ("fr_add", "fr_sub", "fr_mul", "fr_ld", "fr_st", "fr_batch_inv", "fr_arr_from_mont")
_missing = [name for name in _NEEDED if not hasattr(k, name)]
if _missing:
    raise ImportError(f"relayer.zk.arith.kernels lacks {', '.join(_missing)}")

_MONT = pow(2, 256, R)


def _m(x: int) -> np.ndarray:
    """One Fr value in Montgomery form as a (1, 4) limb array (kernels take arrays, not tuples)."""
    return ints_to_limbs([x % R * _MONT % R])


@njit(cache=True, parallel=True)
def _geometric(starts: np.ndarray, step: np.ndarray, n: int) -> np.ndarray:
    # out[i] = x0 · step^i; chunk ch starts at starts[ch] (precomputed), all Montgomery
    nch = starts.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    st = k.fr_ld(step, 0)
    for ch in prange(nch):
        lo = n * ch // nch
        hi = n * (ch + 1) // nch
        acc = k.fr_ld(starts, ch)
        for i in range(lo, hi):
            k.fr_st(out, i, acc)
            acc = k.fr_mul(acc, st)
    return out


@njit(cache=True, parallel=True)
def _sub_from(t: np.ndarray, xs: np.ndarray) -> np.ndarray:
    out = np.empty_like(xs)
    tv = k.fr_ld(t, 0)
    for i in prange(xs.shape[0]):
        k.fr_st(out, i, k.fr_sub(tv, k.fr_ld(xs, i)))
    return out


@njit(cache=True, parallel=True)
def _mul3(f: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    out = np.empty_like(xs)
    fv = k.fr_ld(f, 0)
    for i in prange(xs.shape[0]):
        k.fr_st(out, i, k.fr_mul(fv, k.fr_mul(k.fr_ld(xs, i), k.fr_ld(ys, i))))
    return out


@njit(cache=True, parallel=True)
def _lin(u: np.ndarray, v: np.ndarray, w: np.ndarray, beta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    # β·u + α·v + w
    out = np.empty_like(u)
    b = k.fr_ld(beta, 0)
    a = k.fr_ld(alpha, 0)
    for i in prange(u.shape[0]):
        k.fr_st(out, i, k.fr_add(k.fr_add(k.fr_mul(b, k.fr_ld(u, i)), k.fr_mul(a, k.fr_ld(v, i))), k.fr_ld(w, i)))
    return out


@njit(cache=True, parallel=True)
def _scale(xs: np.ndarray, s: np.ndarray) -> np.ndarray:
    out = np.empty_like(xs)
    sv = k.fr_ld(s, 0)
    for i in prange(xs.shape[0]):
        k.fr_st(out, i, k.fr_mul(k.fr_ld(xs, i), sv))
    return out


def _chunks(n: int) -> int:
    return max(1, min(64, n // 4096))


def _lagrange(tau: int, size: int, step: int, offset: int, count: int) -> np.ndarray:
    """L_k(τ) over the size-`size` domain for k = offset + step·j, j < count (Montgomery limbs)."""
    w = fr_root_of_unity(size)
    ws = pow(w, step, R)
    x0 = pow(w, offset, R)
    nch = _chunks(count)
    starts = ints_to_limbs([x0 * pow(ws, count * ch // nch, R) % R * _MONT % R for ch in range(nch)])
    xs = _geometric(starts, _m(ws), count)
    f = (pow(tau, size, R) - 1) * pow(size, -1, R) % R
    return _mul3(_m(f), xs, k.fr_batch_inv(_sub_from(_m(tau), xs), nch))


def setup_scalars(q: QAP, tau: int, alpha: int, beta: int, delta: int) -> tuple[np.ndarray, np.ndarray]:
    """(G1 scalars, G2 scalars) as canonical limbs in the order `_keys_from_scalars` consumes:
    G1: u (m), v (m), C query (m − npub − 1), H (n), IC (npub + 1), α, β, δ;  G2: v (m), β, δ."""
    n, m, npub = q.domain_size, q.n_wires, q.n_public
    lag = _lagrange(tau, n, 1, 0, n)
    hl = _lagrange(tau, 2 * n, 2, 1, n)
    arrays = coefficient_arrays(q)
    uvw = np.zeros((3, m, 4), dtype=np.uint64)
    # out[mat, wire] += coef · lag[row]: the prover's accumulation with rows and wires swapped
    _accumulate(arrays["mats"], arrays["wires"], arrays["rows"], arrays["coefs"], lag, uvw)
    lc = _lin(uvw[0], uvw[1], uvw[2], _m(beta), _m(alpha))
    dinv = _m(pow(delta, -1, R))
    g1 = np.concatenate([uvw[0], uvw[1], _scale(np.ascontiguousarray(lc[npub + 1 :]), dinv), _scale(hl, dinv),
                         lc[: npub + 1], ints_to_limbs([x * _MONT % R for x in (alpha, beta, delta)])])
    g2 = np.concatenate([uvw[1], ints_to_limbs([x * _MONT % R for x in (beta, delta)])])
    return k.fr_arr_from_mont(np.ascontiguousarray(g1)), k.fr_arr_from_mont(np.ascontiguousarray(g2))
