"""Compiled QAP evaluation for the prover: A, B (and the C matrix's rows) over the domain, as limbs.

The same one pass over the key's coefficients as `qap.evaluate_rows`, on 4 × 64-bit Montgomery limbs
with the generated numba field primitives of `relayer.zk.arith.kernels`, so that at 2^20 constraints
the prover does not spend seconds turning Python ints into limb arrays for `compute_h`.
`coefficient_csr` regroups the same arrays by row for backends that evaluate the QAP on a device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from relayer.errors import ProverError
from relayer.zk.arith import kernels as k
from relayer.zk.field import ints_to_limbs
from relayer.zk.groth16.qap import QAP

# The generated kernels are another module's internals: if a primitive this file uses is gone,
# fail the import so that callers take their plain-int path instead of failing at JIT time.
_NEEDED = ('fr_add', 'fr_arr_from_mont', 'fr_arr_to_mont', 'fr_ld', 'fr_mul', 'fr_st')
_missing = [name for name in _NEEDED if not hasattr(k, name)]
if _missing:
    raise ImportError(f"relayer.zk.arith.kernels lacks {', '.join(_missing)}")


@njit(cache=True)
def _accumulate(mats: np.ndarray, rows: np.ndarray, wires: np.ndarray, coefs: np.ndarray, w: np.ndarray,
                out: np.ndarray) -> None:
    # out[mat, row] += coef * w[wire], all Montgomery; sequential: rows repeat across coefficients
    for i in range(mats.shape[0]):
        t = k.fr_mul(k.fr_ld(coefs, i), k.fr_ld(w, wires[i]))
        m = mats[i]
        r = rows[i]
        cur = (out[m, r, 0], out[m, r, 1], out[m, r, 2], out[m, r, 3])
        s = k.fr_add(cur, t)
        out[m, r, 0] = s[0]
        out[m, r, 1] = s[1]
        out[m, r, 2] = s[2]
        out[m, r, 3] = s[3]


@njit(cache=True, parallel=True)
def _products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    out = np.empty((n, 4), dtype=np.uint64)
    for i in prange(n):
        k.fr_st(out, i, k.fr_mul(k.fr_ld(a, i), k.fr_ld(b, i)))
    return out


@njit(cache=True)
def _first_mismatch(ab: np.ndarray, c: np.ndarray, m: int) -> int:
    for i in range(m):
        if ab[i, 0] != c[i, 0] or ab[i, 1] != c[i, 1] or ab[i, 2] != c[i, 2] or ab[i, 3] != c[i, 3]:
            return i
    return -1


def coefficient_arrays(qap: QAP) -> dict[str, Any]:
    """The QAP's coefficients as arrays (Montgomery values), built once per key and cached by the caller."""
    co = qap.coeffs
    return {
        "mats": np.fromiter((c[0] for c in co), dtype=np.int64, count=len(co)),
        "rows": np.fromiter((c[1] for c in co), dtype=np.int64, count=len(co)),
        "wires": np.fromiter((c[2] for c in co), dtype=np.int64, count=len(co)),
        "coefs": k.fr_arr_to_mont(ints_to_limbs([c[3] for c in co]) if co else np.zeros((0, 4), dtype=np.uint64)),
    }


def evaluate_limbs(qap: QAP, arrays: dict[str, Any], w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(a, b, a·b) over the domain as canonical (n, 4) limb arrays, and the index of the first
    constraint whose C row differs from A·B (-1 if none, or if the key has no C coefficients)."""
    n = qap.domain_size
    out = np.zeros((3, n, 4), dtype=np.uint64)
    _accumulate(arrays["mats"], arrays["rows"], arrays["wires"], arrays["coefs"], k.fr_arr_to_mont(w), out)
    ab = _products(out[0], out[1])
    bad = _first_mismatch(ab, out[2], qap.n_constraints) if qap.has_c else -1
    return k.fr_arr_from_mont(out[0]), k.fr_arr_from_mont(out[1]), k.fr_arr_from_mont(ab), int(bad)


def coefficient_csr(qap: QAP, arrays: dict[str, Any]) -> dict[str, Any]:
    """The coefficients grouped by row for a row-parallel evaluation (ProverBackend.prepare_qap):
    row t = matrix * domain + row; row_ptr (int64, 3 * domain + 1), wires (uint32) and canonical
    coefficients (n, 4) in row order; n_check rows are checked (0 when the key has no C)."""
    n = qap.domain_size
    mats, rows = arrays["mats"], arrays["rows"]
    if mats.size and (mats.min() < 0 or mats.max() > 2 or rows.min() < 0 or rows.max() >= n):
        raise ProverError(f"QAP coefficients reference a matrix outside 0..2 or a row outside 0..{n - 1}")
    if arrays["wires"].size and (arrays["wires"].min() < 0 or arrays["wires"].max() >= qap.n_wires):
        raise ProverError(f"QAP coefficients reference a wire outside 0..{qap.n_wires - 1}")
    key = mats * n + rows
    # keys are already sorted (coeffs come ordered by matrix, row); stable sort only if not
    order = None if key.size < 2 or bool((key[1:] >= key[:-1]).all()) else np.argsort(key, kind="stable")
    if order is not None:
        key = key[order]
    row_ptr = np.searchsorted(key, np.arange(3 * n + 1, dtype=np.int64), side="left").astype(np.int64)
    wires = arrays["wires"] if order is None else arrays["wires"][order]
    coefs = arrays["coefs"] if order is None else arrays["coefs"][order]
    return {
        "row_ptr": row_ptr,
        "wires": wires.astype(np.uint32),
        "coefs": k.fr_arr_from_mont(np.ascontiguousarray(coefs)),
        "domain": n,
        "n_check": qap.n_constraints if qap.has_c else 0,
    }
