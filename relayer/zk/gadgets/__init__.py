"""Circuit gadgets over the R1CS builder: bits and range checks, comparators, selection, signed values,
Poseidon, Merkle-sum nodes. Each one adds its constraints AND its witness hints; each is tested with
witnesses that must be rejected."""

from relayer.zk.gadgets.bits import assert_bool, bits2num, num2bits, range_check, range_check_product
from relayer.zk.gadgets.comparators import (
    greater_eq_than,
    greater_than,
    is_equal,
    is_zero,
    less_eq_than,
    less_than,
    select,
)
from relayer.zk.gadgets.merkle import merkle_sum_parent
from relayer.zk.gadgets.packed import PackedValue, pack_layout, packed_range_checks
from relayer.zk.gadgets.poseidon import poseidon_hash, poseidon_hash_many
from relayer.zk.gadgets.signed import is_negative, split_signed

__all__ = [
    "assert_bool",
    "bits2num",
    "num2bits",
    "range_check",
    "range_check_product",
    "PackedValue",
    "pack_layout",
    "packed_range_checks",
    "is_zero",
    "is_equal",
    "less_than",
    "less_eq_than",
    "greater_than",
    "greater_eq_than",
    "select",
    "poseidon_hash",
    "poseidon_hash_many",
    "merkle_sum_parent",
    "is_negative",
    "split_signed",
]
