"""Compiled "one scalar times many G1 points" for phase-2 contributions (δ⁻¹ · every C and H point).

The backend interface has no such operation (MSM and fixed-base are the other way round), so this
composes the generated numba field/curve primitives of `relayer.zk.arith.kernels` (Jacobian
dbl-2009-l, mixed madd-2007-bl, batch normalisation) into one parallel loop: NAF of the scalar,
one double per digit, one mixed addition per non-zero digit, every point in its own prange lane.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from relayer.errors import FormatError
from relayer.zk.arith import kernels as k

# The generated kernels are another module's internals: if a primitive this file uses is gone,
# fail the import so that callers take their plain-int path instead of failing at JIT time.
_NEEDED = ('G1_INF', 'fq_neg', 'g1_dbl', 'g1_jac_zeros', 'g1_ld', 'g1_madd', 'g1_normalize', 'g1_prepare', 'g1_st_jac')
_missing = [name for name in _NEEDED if not hasattr(k, name)]
if _missing:
    raise ImportError(f"relayer.zk.arith.kernels lacks {', '.join(_missing)}")


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
    return k.g1_normalize(out, max(1, min(64, points.shape[0] // 1024)), True)
