"""Merkle-sum tree over a chain's accounts (native), and per-account inclusion proofs.

leaf   = Poseidon(account_id, salt, L_a, MM_a)                (padding leaf: Poseidon(0, 0, 0, 0))
parent = Poseidon(h_l, L_l, MM_l, h_r, L_r, MM_r), with sums L = L_l + L_r and MM = MM_l + MM_r.
Leaves are in account-id order, padded to a power-of-two capacity. The same hashing is what the
solvency circuit proves (relayer.circuits.solvency); an account holder checks a path on their own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relayer.errors import FormatError, ProverError, VerificationError
from relayer.risk.units import ID_BITS, VALUE_BITS
from relayer.zk.field import R
from relayer.zk.poseidon import poseidon

PATH_FORMAT = "relayer-inclusion/1"


class MerkleSumError(ProverError):
    """The tree cannot be built as asked (capacity, too many accounts, leaves out of id order), or an
    account asked for is not in it. A ProverError, like the circuit capacity errors it mirrors."""


@dataclass(frozen=True)
class Node:
    hash: int
    owed: int  # Σ L_a below this node
    requirement: int  # Σ MM_a below this node


def leaf_hash(account_id: int, salt: int, owed: int, requirement: int) -> int:
    return poseidon([account_id, salt, owed, requirement])


PADDING_LEAF = Node(poseidon([0, 0, 0, 0]), 0, 0)


def parent(left: Node, right: Node) -> Node:
    return Node(poseidon([left.hash, left.owed, left.requirement, right.hash, right.owed, right.requirement]),
                left.owed + right.owed, left.requirement + right.requirement)


@dataclass(frozen=True)
class LeafData:
    account_id: int
    salt: int
    owed: int
    requirement: int

    def node(self) -> Node:
        return Node(leaf_hash(self.account_id, self.salt, self.owed, self.requirement), self.owed, self.requirement)


class MerkleSumTree:
    """All levels of the tree; levels[0] are the leaves, levels[-1] = [root]."""

    def __init__(self, leaves: Sequence[LeafData], capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1 or capacity & (capacity - 1):
            raise MerkleSumError(f"tree capacity must be a power of two (1, 2, 4, ...), got {capacity!r}; "
                                 "it is the circuit's account capacity (circuit.json)")
        if len(leaves) > capacity:
            raise MerkleSumError(f"{len(leaves)} accounts do not fit a tree of capacity {capacity}; "
                                 "set up the circuit with a larger account capacity")
        # leaves are in strictly increasing account-id order, as the circuit proves them: a duplicate
        # would make an account's path ambiguous, another order another root
        for i in range(1, len(leaves)):
            prev, cur = leaves[i - 1].account_id, leaves[i].account_id
            if cur <= prev:
                raise MerkleSumError(f"leaf {i}: account id {cur} {'duplicates' if cur == prev else 'is out of order after'} "
                                     f"account id {prev}; leaves must be in strictly increasing account-id order")
        self.leaves = list(leaves)
        self.capacity = capacity
        level = [x.node() for x in leaves] + [PADDING_LEAF] * (capacity - len(leaves))
        self.levels: list[list[Node]] = [level]
        while len(level) > 1:
            level = [parent(level[i], level[i + 1]) for i in range(0, len(level), 2)]
            self.levels.append(level)

    @property
    def root(self) -> Node:
        return self.levels[-1][0]

    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    def index_of(self, account_id: int) -> int:
        for i, x in enumerate(self.leaves):
            if x.account_id == account_id:
                return i
        raise MerkleSumError(f"account {account_id} is not in this tree ({len(self.leaves)} accounts"
                             + (f", ids {self.leaves[0].account_id}..{self.leaves[-1].account_id}" if self.leaves else "")
                             + "); check the account id and the chain")

    def proof(self, account_id: int) -> InclusionProof:
        i = self.index_of(account_id)
        leaf = self.leaves[i]
        sib: list[Node] = []
        idx = i
        for level in self.levels[:-1]:
            sib.append(level[idx ^ 1])
            idx >>= 1
        return InclusionProof(leaf.account_id, leaf.salt, leaf.owed, leaf.requirement, i, tuple(sib))


@dataclass(frozen=True)
class InclusionProof:
    """What an account holder needs to recompute the root from their own leaf."""

    account_id: int
    salt: int
    owed: int
    requirement: int
    index: int
    siblings: tuple[Node, ...]

    def compute_root(self) -> Node:
        """The root this path leads to; raises VerificationError on values outside the proven ranges."""
        if not 0 <= self.index < 1 << len(self.siblings):
            raise VerificationError(f"leaf index {self.index} does not fit a tree of depth {len(self.siblings)}")
        if not 0 <= self.account_id < 1 << ID_BITS:
            raise VerificationError(f"account id {self.account_id} is not a uint64")
        if not 0 <= self.salt < R:
            # a salt >= r is no field element: the holder's path is malformed, not a prover failure
            raise VerificationError(f"salt {self.salt:#x} is outside the field [0, r)")
        for what, v in (("owed", self.owed), ("requirement", self.requirement)):
            if not 0 <= v < 1 << VALUE_BITS:
                raise VerificationError(f"{what} {v} is outside [0, 2^{VALUE_BITS})")
        node = Node(leaf_hash(self.account_id, self.salt, self.owed, self.requirement), self.owed, self.requirement)
        idx = self.index
        for s in self.siblings:
            if not (0 <= s.hash < R and 0 <= s.owed < 1 << 96 and 0 <= s.requirement < 1 << 96):
                raise VerificationError("a sibling value is outside its range")
            node = parent(s, node) if idx & 1 else parent(node, s)
            idx >>= 1
        return node

    def verify(self, root_hash: int, owed_total: int | None = None, requirement_total: int | None = None) -> Node:
        """Check the path against a published root (and totals, when given); returns the root node."""
        node = self.compute_root()
        if node.hash != root_hash:
            raise VerificationError(f"the path leads to root {node.hash:#066x}, not the published {root_hash:#066x}: "
                                    "this account (with these values) is not in that tree")
        if owed_total is not None and node.owed != owed_total:
            raise VerificationError(f"the path's root sums liabilities to {node.owed}, the published total is {owed_total}")
        if requirement_total is not None and node.requirement != requirement_total:
            raise VerificationError(f"the path's root sums requirements to {node.requirement}, "
                                    f"the published total is {requirement_total}")
        return node

    def to_json(self) -> dict[str, Any]:
        return {"format": PATH_FORMAT, "account_id": self.account_id, "salt": hex(self.salt), "owed": self.owed,
                "requirement": self.requirement, "index": self.index,
                "siblings": [{"hash": hex(s.hash), "owed": s.owed, "requirement": s.requirement} for s in self.siblings]}

    @classmethod
    def from_json(cls, obj: Any) -> InclusionProof:
        try:
            if not isinstance(obj, dict) or obj.get("format") != PATH_FORMAT:
                raise ValueError(f"format must be {PATH_FORMAT!r}")
            return cls(account_id=_int(obj["account_id"]), salt=_int(obj["salt"]), owed=_int(obj["owed"]),
                       requirement=_int(obj["requirement"]), index=_int(obj["index"]),
                       siblings=tuple(Node(_int(s["hash"]), _int(s["owed"]), _int(s["requirement"]))
                                      for s in obj["siblings"]))
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"inclusion path is malformed: {e!r}; expected the {PATH_FORMAT} JSON written by "
                              "the relayer") from e

    @classmethod
    def load(cls, path: str | Path) -> InclusionProof:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except OSError as e:
            raise FormatError(f"cannot read inclusion path {path}: {e}") from e
        except json.JSONDecodeError as e:
            raise FormatError(f"inclusion path {path} is not JSON: {e}") from e


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("boolean where an integer was expected")
    if isinstance(v, int):
        if v < 0:
            raise ValueError(f"negative value {v}")
        return v
    if isinstance(v, str):
        s = v.strip().lower()
        return int(s, 16) if s.startswith("0x") else int(s, 10)
    raise ValueError(f"expected an integer, got {v!r}")


__all__ = ["Node", "LeafData", "MerkleSumError", "MerkleSumTree", "InclusionProof", "leaf_hash", "parent", "PADDING_LEAF", "PATH_FORMAT"]
