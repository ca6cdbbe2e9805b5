"""Rank-1 constraint systems: the data every circuit compiles to and every prover consumes.

Wire layout follows circom so that `.r1cs`/`.wtns` files map one to one:
    wire 0 = the constant 1, then public outputs, then public inputs, then private inputs,
    then internal signals. A constraint is <A, w> * <B, w> = <C, w> over Fr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from relayer.errors import UnsatisfiedConstraint
from relayer.zk.field import R

LinearCombination = dict[int, int]  # wire index -> coefficient in [0, r)
Constraint = tuple[LinearCombination, LinearCombination, LinearCombination]


@dataclass
class R1CS:
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    constraints: list[Constraint]
    # optional human-readable names, one per constraint, for the debugging checker
    constraint_names: list[str] | None = None
    # optional names of wires (index -> name), e.g. read from circom's .sym or set by the builder
    wire_names: dict[int, str] = field(default_factory=dict)
    prime: int = R

    @property
    def n_public(self) -> int:
        """Number of public signals (outputs then inputs), not counting the constant wire."""
        return self.n_pub_out + self.n_pub_in

    @property
    def n_constraints(self) -> int:
        return len(self.constraints)

    def public_signals(self, witness: Sequence[int]) -> list[int]:
        """The public wires (outputs then inputs), checked like `check_values` and never reduced: a
        value x + p would otherwise name the same public input as x (input malleability)."""
        self.check_values(witness)
        return list(witness[1 : 1 + self.n_public])

    def _name(self, i: int) -> str:
        if self.constraint_names and i < len(self.constraint_names):
            return self.constraint_names[i]
        return f"#{i}"

    def _wire(self, k: int) -> str:
        name = self.wire_names.get(k)
        return f"wire {k} ({name})" if name else f"wire {k}"

    def check_values(self, witness: Sequence[int]) -> None:
        """Raise UnsatisfiedConstraint unless the witness has one exact integer in [0, p) per wire and
        wire 0 is 1. Never reduce: the prover refuses values outside [0, p), so a checker that reduced
        them would pass witnesses (x + p, or a negative −x) that can never be proven."""
        p = self.prime
        if len(witness) != self.n_wires:
            raise UnsatisfiedConstraint(f"witness has {len(witness)} values, circuit has {self.n_wires} wires")
        for k, x in enumerate(witness):
            # bool is an int subclass and a float may hold an integral value: neither is a field element
            if isinstance(x, bool) or not isinstance(x, int):
                raise UnsatisfiedConstraint(
                    f"witness value of {self._wire(k)} is {type(x).__name__} {x!r}, not an int in [0, p)"
                )
            if not 0 <= x < p:
                raise UnsatisfiedConstraint(
                    f"witness value of {self._wire(k)} is {x}, outside the field [0, p) "
                    "(a negative value must be given as p − |v|; values are never reduced)"
                )
        if witness[0] != 1:
            raise UnsatisfiedConstraint(f"witness[0] (the constant wire) must be 1, got {witness[0]}")

    def check(self, witness: Sequence[int]) -> None:
        """Raise UnsatisfiedConstraint naming the first wire whose value is not in [0, p) (see
        check_values), else the first constraint the witness violates."""
        p = self.prime
        self.check_values(witness)
        for i, (a, b, c) in enumerate(self.constraints):
            va = sum(witness[k] * v for k, v in a.items()) % p
            vb = sum(witness[k] * v for k, v in b.items()) % p
            vc = sum(witness[k] * v for k, v in c.items()) % p
            if (va * vb - vc) % p:
                raise UnsatisfiedConstraint(
                    f"constraint {self._name(i)} (index {i}) is not satisfied: A*B = {va * vb % p}, C = {vc}"
                )

    def is_satisfied(self, witness: Sequence[int]) -> bool:
        try:
            self.check(witness)
        except UnsatisfiedConstraint:
            return False
        return True
