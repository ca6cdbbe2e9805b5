"""Write our Groth16 ProvingKey as a snarkjs `.zkey`, so snarkjs can prove with the same key.

Inverse of `zkey_file.read_zkey` (layout facts from snarkjs 0.7.6 `src/zkey_utils.js`): sections
1 protocol, 2 header, 3 IC, 4 A/B coefficients (c·R² mod r), 5 A, 6 B1, 7 B2, 8 C, 9 H, 10 MPC
parameters. Coordinates little-endian in Montgomery form (x·2^256 mod q), infinity = zeros.
Section 10 records no snarkjs contributions: our own transcript stays in our key files.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from relayer.zk.field import Q, R, g1_to_array, g2_to_array, ints_to_limbs, limbs_to_ints
from relayer.zk.formats.binfile import write_container
from relayer.zk.groth16.keys import ProvingKey

_RQ = pow(2, 256, Q)
_RR2 = pow(2, 512, R)


def _mont_q(arr: np.ndarray) -> bytes:
    """Canonical limb array of Fq coordinates → little-endian Montgomery bytes (zeros stay zeros)."""
    vals = limbs_to_ints(arr)
    return ints_to_limbs([v * _RQ % Q for v in vals]).tobytes()


def _u256(v: int) -> bytes:
    return v.to_bytes(32, "little")


def zkey_bytes(pk: ProvingKey) -> bytes:
    q = pk.qap
    vk = pk.vk
    header = b"".join(
        [
            struct.pack("<I", 32), _u256(Q), struct.pack("<I", 32), _u256(R),
            struct.pack("<III", q.n_wires, q.n_public, q.domain_size),
            _mont_q(g1_to_array([vk.alpha_g1])), _mont_q(g1_to_array([pk.beta_g1])),
            _mont_q(g2_to_array([vk.beta_g2])), _mont_q(g2_to_array([vk.gamma_g2])),
            _mont_q(g1_to_array([pk.delta_g1])), _mont_q(g2_to_array([vk.delta_g2])),
        ]
    )
    ab = [c for c in q.coeffs if c[0] < 2]  # snarkjs derives C from A·B; it stores A and B only
    coeffs = [struct.pack("<I", len(ab))]
    coeffs += [struct.pack("<III", m, row, wire) + _u256(v * _RR2 % R) for m, row, wire, v in ab]
    mpc = bytes(64) + struct.pack("<I", 0)
    return write_container(
        "zkey",
        1,
        [
            (1, struct.pack("<I", 1)),
            (2, header),
            (3, _mont_q(g1_to_array(list(vk.ic)))),
            (4, b"".join(coeffs)),
            (5, _mont_q(pk.a_query)),
            (6, _mont_q(pk.b1_query)),
            (7, _mont_q(pk.b2_query)),
            (8, _mont_q(pk.c_query)),
            (9, _mont_q(pk.h_query)),
            (10, mpc),
        ],
    )


def write_zkey(path: str | Path, pk: ProvingKey) -> None:
    Path(path).write_bytes(zkey_bytes(pk))
