"""Merkle-sum tree node: the parent hash binds both children's hashes AND both sums.

parent.hash = Poseidon(left_hash, left_sum, right_hash, right_sum), parent.sum = left_sum + right_sum,
with both child sums and the parent sum proven < 2^n_bits, so a sum can neither be negative through
field wraparound nor overflow the range the next level (and the public total) assumes.
"""

from __future__ import annotations

from relayer.zk.circuit import Circuit, CircuitError, Operand, Signal, as_lc
from relayer.zk.gadgets.bits import range_check
from relayer.zk.gadgets.comparators import MAX_COMPARE_BITS
from relayer.zk.gadgets.poseidon import poseidon_hash


def merkle_sum_parent(c: Circuit, left_hash: Operand, left_sum: Operand, right_hash: Operand,
                      right_sum: Operand, n_bits: int = 128, name: str | None = None,
                      children_checked: bool = False) -> tuple[Signal, Signal]:
    """(hash, sum) of the parent node. `children_checked=True` skips the child range checks when
    the caller already proved both child sums < 2^n_bits (e.g. they are parent sums of this gadget)."""
    if not 1 <= n_bits <= MAX_COMPARE_BITS:
        raise CircuitError(f"merkle_sum_parent supports 1..{MAX_COMPARE_BITS}-bit sums, got {n_bits}")
    lh, ls, rh, rs = as_lc(left_hash), as_lc(left_sum), as_lc(right_hash), as_lc(right_sum)
    with c.scope(name or "msum"):
        if not children_checked:
            range_check(c, ls, n_bits, name="left_sum_range")
            range_check(c, rs, n_bits, name="right_sum_range")
        total = c.materialize(ls + rs, name="sum")
        range_check(c, total, n_bits, name="sum_range")
        h = poseidon_hash(c, [lh, ls, rh, rs], name="hash")
    return h, total
