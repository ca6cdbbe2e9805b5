"""Groth16 domain objects shared by the prover, the verifier, the exporters and the contracts.

Points use the plain-int conventions of `relayer.zk.field` (G1 = (x, y), G2 = ((x0, x1), (y0, y1)),
None = infinity), where x = x0 + x1*u in Fq2.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayer.zk.field import G1Point, G2Point


@dataclass(frozen=True)
class VerifyingKey:
    alpha_g1: G1Point
    beta_g2: G2Point
    gamma_g2: G2Point
    delta_g2: G2Point
    ic: tuple[G1Point, ...]  # len = n_public + 1; ic[0] multiplies the constant 1

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1


@dataclass(frozen=True)
class Proof:
    a: G1Point
    b: G2Point
    c: G1Point
