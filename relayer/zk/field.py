"""BN254 (alt_bn128) constants and array conventions shared by every backend.

Curve: y^2 = x^3 + 3 over Fq; G2 over Fq2 = Fq[u]/(u^2 + 1), twist y^2 = x^3 + 3/(9+u).
Constants: EIP-196/197 and py_ecc `bn128` (the reference backend).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# Scalar field modulus r (group order) and base field modulus q.
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
# 2-adicity of r - 1 and a 2^28-th root of unity: 5 is a multiplicative generator of Fr^*
# (arkworks `Fr::GENERATOR`), so w = 5^((r-1)/2^28).
FR_TWO_ADICITY = 28
FR_GENERATOR = 5
FR_ROOT_OF_UNITY_2_28 = pow(FR_GENERATOR, (R - 1) >> FR_TWO_ADICITY, R)

# Array conventions (the interface between the prover and every backend):
#   Fr vector:  np.ndarray uint64 of shape (n, 4): little-endian 64-bit limbs, canonical form.
#   G1 bases:   np.ndarray uint64 of shape (n, 2, 4): affine (x, y) canonical; infinity = zeros.
#   G2 bases:   np.ndarray uint64 of shape (n, 2, 2, 4): ((x.c0, x.c1), (y.c0, y.c1)); same.
# Points returned to Python are plain ints:
#   G1Point = (x, y) | None (None is infinity);  G2Point = ((x0, x1), (y0, y1)) | None.
G1Point = tuple[int, int] | None
G2Point = tuple[tuple[int, int], tuple[int, int]] | None

_MASK = (1 << 64) - 1


def ints_to_limbs(values: Sequence[int] | Iterable[int], n: int | None = None) -> np.ndarray:
    """Pack non-negative ints (< 2^256) into an (n, 4) uint64 little-endian limb array."""
    data = b"".join(int(v).to_bytes(32, "little") for v in values)
    arr = np.frombuffer(data, dtype="<u8").reshape(-1, 4).astype(np.uint64)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"expected {n} values, got {arr.shape[0]}")
    return arr


def first_not_below(w: np.ndarray, modulus: int = R) -> int:
    """Index of the first value of a (..., 4) limb array (flattened to rows) that is >= modulus, or -1.
    A row whose top limb is below the modulus' is below it: one vectorised pass settles almost every
    row, and only rows that tie or exceed on the top limb get the full compare, top limb down."""
    flat = w.reshape(-1, 4)
    m = [np.uint64((modulus >> (64 * i)) & _MASK) for i in range(4)]
    rows = np.flatnonzero(flat[:, 3] >= m[3])
    if rows.size == 0:
        return -1
    cand = flat[rows]
    below = np.zeros(rows.size, dtype=bool)
    equal = np.ones(rows.size, dtype=bool)
    for i in (3, 2, 1, 0):
        below |= equal & (cand[:, i] < m[i])
        equal &= cand[:, i] == m[i]
    return -1 if below.all() else int(rows[np.argmin(below)])


def limbs_to_ints(arr: np.ndarray) -> list[int]:
    """Inverse of ints_to_limbs for an (..., 4) array; returns a flat list."""
    flat = np.ascontiguousarray(arr, dtype="<u8").reshape(-1, 4)
    raw = flat.tobytes()
    return [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]


def g1_to_array(points: Sequence[G1Point]) -> np.ndarray:
    vals: list[int] = []
    for p in points:
        vals.extend((0, 0) if p is None else (p[0], p[1]))
    return ints_to_limbs(vals).reshape(-1, 2, 4)


def g2_to_array(points: Sequence[G2Point]) -> np.ndarray:
    vals: list[int] = []
    for p in points:
        vals.extend((0, 0, 0, 0) if p is None else (p[0][0], p[0][1], p[1][0], p[1][1]))
    return ints_to_limbs(vals).reshape(-1, 2, 2, 4)


def array_to_g1(arr: np.ndarray) -> list[G1Point]:
    v = limbs_to_ints(arr)
    return [None if v[i] == 0 and v[i + 1] == 0 else (v[i], v[i + 1]) for i in range(0, len(v), 2)]


def array_to_g2(arr: np.ndarray) -> list[G2Point]:
    v = limbs_to_ints(arr)
    out: list[G2Point] = []
    for i in range(0, len(v), 4):
        if v[i] == v[i + 1] == v[i + 2] == v[i + 3] == 0:
            out.append(None)
        else:
            out.append(((v[i], v[i + 1]), (v[i + 2], v[i + 3])))
    return out


def fr_root_of_unity(n: int) -> int:
    """Primitive n-th root of unity in Fr, n a power of two ≤ 2^28 (same roots as snarkjs/ffjavascript)."""
    k = n.bit_length() - 1
    if n <= 0 or (1 << k) != n or k > FR_TWO_ADICITY:
        raise ValueError(f"domain size {n} is not a power of two ≤ 2^{FR_TWO_ADICITY}")
    return pow(FR_ROOT_OF_UNITY_2_28, 1 << (FR_TWO_ADICITY - k), R)
