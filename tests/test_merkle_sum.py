"""Merkle-sum tree (native) and inclusion paths, checked as an account holder would, and `relayer inclusion`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from relayer.circuits.merkle_sum import (
    PADDING_LEAF,
    InclusionProof,
    LeafData,
    MerkleSumError,
    MerkleSumTree,
    Node,
    leaf_hash,
    parent,
)
from relayer.errors import FormatError, ProverError, VerificationError
from relayer.zk.field import R
from relayer.zk.poseidon import poseidon

LEAVES = [LeafData(10 + 7 * i, 1000 + i, 5_000_000 * i, 300_000 * (i % 3)) for i in range(5)]


@pytest.fixture(scope="module")
def tree() -> MerkleSumTree:
    return MerkleSumTree(LEAVES, 8)


def test_tree_hashing_and_sums(tree: MerkleSumTree) -> None:
    assert tree.depth == 3
    assert tree.root.owed == sum(x.owed for x in LEAVES)
    assert tree.root.requirement == sum(x.requirement for x in LEAVES)
    # leaf = Poseidon(id, salt, L, MM); parent = Poseidon(hl, Ll, MMl, hr, Lr, MMr)
    assert tree.levels[0][1].hash == poseidon([17, 1001, 5_000_000, 300_000])
    l0, l1 = tree.levels[0][0], tree.levels[0][1]
    assert tree.levels[1][0] == Node(poseidon([l0.hash, l0.owed, l0.requirement, l1.hash, l1.owed, l1.requirement]),
                                     l0.owed + l1.owed, l0.requirement + l1.requirement)
    assert tree.levels[0][5:] == [PADDING_LEAF] * 3 and PADDING_LEAF.hash == poseidon([0, 0, 0, 0])


def test_every_account_verifies(tree: MerkleSumTree) -> None:
    for leaf in LEAVES:
        p = tree.proof(leaf.account_id)
        node = p.verify(tree.root.hash, tree.root.owed, tree.root.requirement)
        assert node == tree.root
        assert InclusionProof.from_json(json.loads(json.dumps(p.to_json()))) == p


def test_tampered_paths_rejected(tree: MerkleSumTree) -> None:
    p = tree.proof(LEAVES[2].account_id)
    root = tree.root.hash
    bad = [
        replace(p, owed=p.owed + 1),  # the account was told a larger balance than the tree holds
        replace(p, requirement=p.requirement - 1),
        replace(p, salt=p.salt + 1),
        replace(p, account_id=p.account_id + 1),
        replace(p, index=p.index ^ 1),  # a flipped path bit: left and right swapped
        replace(p, index=p.index ^ 4),
        replace(p, siblings=(replace(p.siblings[0], owed=p.siblings[0].owed + 1), *p.siblings[1:])),
        replace(p, siblings=(p.siblings[1], p.siblings[0], *p.siblings[2:])),  # siblings out of order
        replace(p, siblings=p.siblings[:-1]),  # a shorter path leads to another node
    ]
    for b in bad:
        with pytest.raises(VerificationError):
            b.verify(root)
    with pytest.raises(VerificationError, match="not in that tree"):
        p.verify(root ^ 1)
    with pytest.raises(VerificationError, match="liabilities"):
        p.verify(root, tree.root.owed + 1)
    with pytest.raises(VerificationError, match="index"):
        replace(p, index=8).verify(root)
    with pytest.raises(VerificationError, match="outside"):
        replace(p, owed=-1).verify(root)
    # a salt that is no field element is a bad path (VerificationError, the CLI's exit code 5)
    with pytest.raises(VerificationError, match="salt"):
        replace(p, salt=p.salt + R).verify(root)


def test_omitted_account_breaks_its_path(tree: MerkleSumTree) -> None:
    """A book without an account has another root, and that account's own path no longer verifies."""
    victim = LEAVES[3]
    p = tree.proof(victim.account_id)
    smaller = MerkleSumTree([x for x in LEAVES if x is not victim], 8)
    assert smaller.root.owed == tree.root.owed - victim.owed
    with pytest.raises(VerificationError):
        p.verify(smaller.root.hash)


def test_tree_shape_errors() -> None:
    # each is a MerkleSumError, a ProverError (exit code 5), never a bare ValueError/KeyError
    for cap in (6, 0, -4, 3):
        with pytest.raises(MerkleSumError, match="power of two"):
            MerkleSumTree(LEAVES, cap)
    for cap in (8.0, True, "8"):  # only an exact int is a capacity
        with pytest.raises(MerkleSumError, match="power of two"):
            MerkleSumTree(LEAVES, cap)  # type: ignore[arg-type]
    with pytest.raises(MerkleSumError, match="5 accounts do not fit a tree of capacity 4"):
        MerkleSumTree(LEAVES, 4)
    assert MerkleSumTree(LEAVES[:4], 4).depth == 2  # exactly full is fine
    assert MerkleSumTree([], 1).root == PADDING_LEAF
    assert issubclass(MerkleSumError, ProverError) and not issubclass(MerkleSumError, (ValueError, KeyError))
    assert parent(PADDING_LEAF, PADDING_LEAF).owed == 0
    assert leaf_hash(0, 0, 0, 0) == PADDING_LEAF.hash


def test_tree_rejects_leaves_out_of_account_id_order() -> None:
    dup = [LEAVES[0], LEAVES[1], replace(LEAVES[2], account_id=LEAVES[1].account_id), *LEAVES[3:]]
    with pytest.raises(MerkleSumError, match=f"leaf 2: account id {LEAVES[1].account_id} duplicates"):
        MerkleSumTree(dup, 8)
    swapped = [LEAVES[1], LEAVES[0], *LEAVES[2:]]
    with pytest.raises(MerkleSumError, match=f"leaf 1: account id {LEAVES[0].account_id} is out of order after"):
        MerkleSumTree(swapped, 8)


def test_path_for_an_account_not_in_the_tree(tree: MerkleSumTree) -> None:
    with pytest.raises(MerkleSumError, match=r"account 999 is not in this tree \(5 accounts, ids 10\.\.38\)"):
        tree.proof(999)
    with pytest.raises(MerkleSumError, match="account 10 is not in this tree"):
        MerkleSumTree([], 2).index_of(10)
    assert tree.index_of(LEAVES[4].account_id) == 4


def test_malformed_path_json() -> None:
    with pytest.raises(FormatError, match="format"):
        InclusionProof.from_json({"account_id": 1})
    with pytest.raises(FormatError):
        InclusionProof.from_json({"format": "relayer-inclusion/1", "account_id": "x1", "salt": 0, "owed": 0,
                                  "requirement": 0, "index": 0, "siblings": []})
    with pytest.raises(FormatError):
        InclusionProof.from_json({"format": "relayer-inclusion/1", "account_id": True, "salt": 0, "owed": 0,
                                  "requirement": 0, "index": 0, "siblings": []})


# --- relayer inclusion ---------------------------------------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relayer.cli.main", "inclusion", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_inclusion(tree: MerkleSumTree, tmp_path: Path) -> None:
    path = tmp_path / "path.json"
    path.write_text(json.dumps(tree.proof(LEAVES[1].account_id).to_json()))
    r = run_cli(str(path), "--root", hex(tree.root.hash), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["included"] is True and out["account_id"] == LEAVES[1].account_id
    assert out["root_liabilities"] == tree.root.owed and out["totals_checked"] is False
    root_file = tmp_path / "root.json"
    root_file.write_text(json.dumps({"root": hex(tree.root.hash), "liabilities": tree.root.owed,
                                     "maintenanceMargin": tree.root.requirement}))
    r = run_cli(str(path), "--root-file", str(root_file))
    assert r.returncode == 0, r.stderr
    assert "is included at leaf 1" in r.stdout
    # a wrong root, and a wrong published total: non-zero exit with the reason
    r = run_cli(str(path), "--root", str(tree.root.hash + 1))
    assert r.returncode == VerificationError.exit_code and "not in that tree" in r.stderr
    r = run_cli(str(path), "--root", str(tree.root.hash), "--liabilities", str(tree.root.owed - 1))
    assert r.returncode != 0 and "liabilities" in r.stderr
    bare = tmp_path / "root.txt"
    bare.write_text(str(tree.root.hash) + "\n")
    assert run_cli(str(path), "--root-file", str(bare)).returncode == 0
    r = run_cli(str(path))
    assert r.returncode != 0 and "exactly one of --root or --root-file" in r.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    r = run_cli(str(broken), "--root", "1")
    assert r.returncode == FormatError.exit_code and "not JSON" in r.stderr
