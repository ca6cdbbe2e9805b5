"""RLP, Merkle-Patricia proofs and header hashing: real proofs and headers from anvil are accepted,
and every mutation of them is rejected; RLP against published vectors and pyrlp; embedded nodes on
a hand-built trie."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import rlp as pyrlp  # the reference implementation (a dependency of eth-account), tests only
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from relayer.devnet.anvil import AnvilProcess, _rpc
from relayer.devnet.deploy import ChainDeployment
from relayer.errors import ChainError, FormatError
from relayer.watch import rlp
from relayer.watch.header import parse_header
from relayer.watch.mpt import (
    EMPTY_CODE_HASH,
    EMPTY_TRIE_ROOT,
    check_get_proof,
    verify_account,
    verify_proof,
    verify_storage,
)
from relayer.watch.snapshot import vault_holding_slot
from tests.test_watch import seeded

# ---- RLP -----------------------------------------------------------------------------------------

# vectors from the RLP page of ethereum.org (developers/docs/data-structures-and-encoding/rlp)
RLP_VECTORS: list[tuple[Any, str]] = [
    (b"dog", "83646f67"),
    ([b"cat", b"dog"], "c88363617483646f67"),
    (b"", "80"),
    ([], "c0"),
    (b"\x00", "00"),
    (b"\x0f", "0f"),
    (b"\x04\x00", "820400"),
    ([[], [[]], [[], [[]]]], "c7c0c1c0c3c0c1c0"),
    (b"Lorem ipsum dolor sit amet, consectetur adipisicing elit",
     "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974"),
]


@pytest.mark.parametrize(("item", "hexed"), RLP_VECTORS)
def test_rlp_vectors(item: Any, hexed: str) -> None:
    assert rlp.encode(item).hex() == hexed
    assert rlp.decode(bytes.fromhex(hexed)) == item


def test_rlp_scalars() -> None:
    assert rlp.encode(rlp.encode_uint(0)) == b"\x80"
    assert rlp.encode(rlp.encode_uint(1024)).hex() == "820400"
    assert rlp.decode_uint(b"\x04\x00") == 1024
    with pytest.raises(FormatError, match="leading zero"):
        rlp.decode_uint(b"\x00\x01")
    with pytest.raises(FormatError, match="non-negative"):
        rlp.encode_uint(-1)


items = st.recursive(st.binary(max_size=80), lambda kids: st.lists(kids, max_size=6), max_leaves=30)


@given(items)
def test_rlp_matches_pyrlp(item: Any) -> None:
    encoded = rlp.encode(item)
    assert encoded == pyrlp.encode(item)
    assert rlp.decode(encoded) == item


@pytest.mark.parametrize(("hexed", "why"), [
    ("8100", "single byte < 0x80"),  # the byte 0x00 must be encoded as itself
    ("817f", "single byte < 0x80"),
    ("b80100", "long length form"),
    ("b9000100", "leading zero"),
    ("f801c0", "long length form"),
    ("f800", "leading zero"),
    ("83646f", "announces 3 bytes"),
    ("83646f6700", "trailing byte"),
    ("c3836461", "announces"),
    ("", "ends before"),
])
def test_rlp_rejects_non_canonical(hexed: str, why: str) -> None:
    with pytest.raises(FormatError, match=why):
        rlp.decode(bytes.fromhex(hexed))


# ---- proofs from a real node ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AnvilProcess, ChainDeployment, dict[str, Any]]]:
    proc, dep = seeded(tmp_path_factory.mktemp("mpt"))
    try:
        block = _rpc(proc.rpc_url, "eth_getBlockByNumber", ["latest", False])
        assert isinstance(block, dict)
        yield proc, dep, block
    finally:
        proc.stop()


def _proof(proc: AnvilProcess, block: dict[str, Any], address: str, slots: list[int]) -> dict[str, Any]:
    res = _rpc(proc.rpc_url, "eth_getProof", [address, [f"0x{s:064x}" for s in slots], block["number"]])
    assert isinstance(res, dict)
    return res


def _nodes(hex_nodes: list[str]) -> list[bytes]:
    return [bytes.fromhex(n[2:]) for n in hex_nodes]


pytestmark_anvil = pytest.mark.anvil


@pytestmark_anvil
def test_real_proofs_verify(node: tuple[AnvilProcess, ChainDeployment, dict[str, Any]]) -> None:
    proc, dep, block = node
    root = bytes.fromhex(block["stateRoot"][2:])
    slots = [vault_holding_slot(a.token) for a in dep.assets]
    res = _proof(proc, block, dep.vault, slots)
    account, values = check_get_proof(root, dep.vault, slots, res)
    assert [values[s] for s in slots] == [a.total_deposited for a in dep.assets]
    assert account.code_hash != EMPTY_CODE_HASH and account.storage_root != EMPTY_TRIE_ROOT
    # an absent slot (a token the vault never saw) is proven to be zero
    stranger = vault_holding_slot("0x" + "12" * 20)
    _, vals = check_get_proof(root, dep.vault, [stranger], _proof(proc, block, dep.vault, [stranger]))
    assert vals[stranger] == 0
    # an account with empty storage (an EOA): the proof is the empty node
    eoa = dep.deployer
    eoa_acc, vals = check_get_proof(root, eoa, [0], _proof(proc, block, eoa, [0]))
    assert eoa_acc.storage_root == EMPTY_TRIE_ROOT and eoa_acc.code_hash == EMPTY_CODE_HASH and vals[0] == 0
    # an account that does not exist is proven absent, and a snapshot refuses it
    ghost = "0x" + "ab" * 20
    res = _proof(proc, block, ghost, [])
    assert verify_account(root, ghost, _nodes(res["accountProof"])) is None
    with pytest.raises(ChainError, match="does not exist at this block"):
        check_get_proof(root, ghost, [], res)


@pytestmark_anvil
def test_every_mutated_proof_node_rejected(node: tuple[AnvilProcess, ChainDeployment, dict[str, Any]]) -> None:
    proc, dep, block = node
    root = bytes.fromhex(block["stateRoot"][2:])
    usdc, weth = (vault_holding_slot(a.token) for a in dep.assets)
    res = _proof(proc, block, dep.vault, [usdc, weth])
    acct = _nodes(res["accountProof"])
    account = verify_account(root, dep.vault, acct)
    assert account is not None
    for i in range(len(acct)):
        for pos in (0, len(acct[i]) // 2, len(acct[i]) - 1):
            bad = list(acct)
            bad[i] = bad[i][:pos] + bytes([bad[i][pos] ^ 1]) + bad[i][pos + 1 :]
            with pytest.raises(ChainError):
                verify_account(root, dep.vault, bad)
    with pytest.raises(ChainError, match="ends after"):
        verify_account(root, dep.vault, acct[:-1])
    with pytest.raises(ChainError, match="node\\(s\\) after the one that decides"):
        verify_account(root, dep.vault, acct + [acct[-1]])
    with pytest.raises(ChainError, match="first proof node does not hash to the root"):
        verify_account(keccak(b"another root"), dep.vault, acct)
    with pytest.raises(ChainError):
        verify_account(root, dep.vault, list(reversed(acct)))

    sproof = _nodes(res["storageProof"][0]["proof"])
    assert verify_storage(account.storage_root, usdc, sproof) == dep.assets[0].total_deposited
    for i in range(len(sproof)):
        bad = list(sproof)
        bad[i] = bad[i][:-1] + bytes([bad[i][-1] ^ 0x40])
        with pytest.raises(ChainError):
            verify_storage(account.storage_root, usdc, bad)
    # USDC's proof presented for WETH's slot (which is present): not accepted as any value
    with pytest.raises(ChainError):
        verify_storage(account.storage_root, weth, sproof)


@pytestmark_anvil
def test_reported_fields_must_equal_the_proven_ones(node: tuple[AnvilProcess, ChainDeployment, dict[str, Any]]) -> None:
    proc, dep, block = node
    root = bytes.fromhex(block["stateRoot"][2:])
    slot = vault_holding_slot(dep.assets[0].token)
    honest = _proof(proc, block, dep.vault, [slot])
    check_get_proof(root, dep.vault, [slot], honest)

    def lie(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        res = copy.deepcopy(honest)
        target: Any = res
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
        return res

    cases: list[tuple[dict[str, Any], str]] = [
        (lie(("balance",), "0x1"), "reported account fields"),
        (lie(("nonce",), "0x7"), "reported account fields"),
        (lie(("storageHash",), "0x" + "00" * 32), "reported account fields"),
        (lie(("codeHash",), "0x" + EMPTY_CODE_HASH.hex()), "reported account fields"),
        (lie(("address",), dep.feed), "answered for"),
        (lie(("storageProof", 0, "key"), "0x" + "00" * 32), "where slot"),
        (lie(("storageProof", 0, "value"), "0x5"), "reports value 5 but its proof proves"),
        (lie(("storageProof",), []), "asked for 1 storage slot"),
        (lie(("accountProof",), []), "ends after 0 node"),
        (lie(("accountProof", 0), "0xzz"), "not valid hex"),
        (lie(("balance",), 5), "not a 0x-hex quantity"),
    ]
    for res, msg in cases:
        with pytest.raises(ChainError, match=msg):
            check_get_proof(root, dep.vault, [slot], res)


# ---- a hand-built trie with embedded nodes ---------------------------------------------------------


def _hp(nibbles: list[int], leaf: bool) -> bytes:
    """Hex-prefix encoding (Yellow Paper, Appendix C)."""
    flag = (2 if leaf else 0) + (len(nibbles) % 2)
    nib = [flag] + ([] if len(nibbles) % 2 else [0]) + nibbles
    return bytes(nib[i] * 16 + nib[i + 1] for i in range(0, len(nib), 2))


def _path(key: bytes) -> list[int]:
    return [n for b in keccak(key) for n in (b >> 4, b & 15)]


def test_embedded_nodes() -> None:
    # two keys whose paths we place under one extension; the last nibbles sit in small leaves that
    # are embedded (RLP < 32 bytes) in their branch, which is in turn embedded or hashed
    ka, kb = (7).to_bytes(32, "big"), (9).to_bytes(32, "big")
    pa, pb = _path(ka), _path(kb)
    # force a shared prefix: a trie over paths pa and pa-with-a-different-61st-nibble (kb's own path
    # is then absent, which the verifier must report as absence, not as a value)
    alt = pa[:60] + [(pa[60] + 1) % 16] + pa[61:]
    leaf_a = [_hp(pa[61:], True), rlp.encode(b"\x2a")]
    leaf_alt = [_hp(alt[61:], True), rlp.encode(b"\x2b")]
    assert len(rlp.encode(leaf_a)) < 32
    branch: list[Any] = [b""] * 17
    branch[pa[60]] = leaf_a
    branch[alt[60]] = leaf_alt
    enc_branch = rlp.encode(branch)
    child: Any = branch if len(enc_branch) < 32 else keccak(enc_branch)
    ext = [_hp(pa[:60], False), child]
    enc_ext = rlp.encode(ext)
    root = keccak(enc_ext)
    proof = [enc_ext] + ([] if len(enc_branch) < 32 else [enc_branch])
    assert verify_proof(root, ka, proof) == rlp.encode(b"\x2a")
    assert verify_storage(root, 7, proof) == 0x2A
    # the same proof listing the embedded leaf as an element of its own is accepted too
    assert verify_proof(root, ka, proof + [rlp.encode(leaf_a)]) == rlp.encode(b"\x2a")
    # kb leaves the extension's path: absent, proven by the extension node alone
    assert pb[:60] != pa[:60]
    assert verify_proof(root, kb, [enc_ext]) is None
    with pytest.raises(ChainError, match="after the one that decides"):
        verify_proof(root, kb, proof + [b"\x80"])


def test_structurally_bad_nodes_rejected() -> None:
    key = b"k"
    for node, msg in [
        (rlp.encode([b"a", b"b", b"c"]), "has 3 items"),
        (rlp.encode(b"abc"), "string, not a list"),
        (rlp.encode([b"\x40", b"v"]), "invalid hex-prefix flag"),
        (rlp.encode([b"\x01", b"v"]), "non-zero padding nibble"),
        (rlp.encode([_hp(_path(key), True), b""]), "leaf value is empty"),
        (rlp.encode([_hp(_path(key)[:3], False), b"short"]), "child reference of 5 bytes"),
        (b"\xc1", "not valid RLP"),
    ]:
        with pytest.raises(ChainError, match=msg):
            verify_proof(keccak(node), key, [node])
    # a proven state-trie leaf that is not [nonce, balance, storageRoot, codeHash]
    addr = "0x" + "cd" * 20
    leaf = rlp.encode([_hp(_path(bytes.fromhex("cd" * 20)), True), rlp.encode([b"\x01", b"\x02", b"\x03"])])
    with pytest.raises(ChainError, match="not an account record"):
        verify_account(keccak(leaf), addr, [leaf])
    # an empty node is only the root of the empty trie
    assert verify_proof(EMPTY_TRIE_ROOT, key, [b"\x80"]) is None
    assert verify_proof(EMPTY_TRIE_ROOT, key, []) is None
    # a stored zero cannot be in a storage trie (clients delete zeroed slots)
    leaf = rlp.encode([_hp(_path((1).to_bytes(32, "big")), True), rlp.encode(b"")])
    with pytest.raises(ChainError, match="cannot be in a storage trie"):
        verify_storage(keccak(leaf), 1, [leaf])


# ---- headers -----------------------------------------------------------------------------------------


@pytestmark_anvil
def test_real_headers_hash_to_their_hash(node: tuple[AnvilProcess, ChainDeployment, dict[str, Any]]) -> None:
    proc, dep, block = node
    for n in ("0x0", "0x1", block["number"]):
        b = _rpc(proc.rpc_url, "eth_getBlockByNumber", [n, False])
        assert isinstance(b, dict)
        h = parse_header(b)
        assert "0x" + h.hash.hex() == b["hash"] and h.number == int(b["number"], 16)
        assert "0x" + h.state_root.hex() == b["stateRoot"] and keccak(h.encode()) == h.hash
    # every post-London field anvil sends is part of the hash
    assert {"baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot",
            "requestsHash"} <= {name for name, _ in parse_header(block).fields}


@pytestmark_anvil
def test_every_tampered_header_field_rejected(node: tuple[AnvilProcess, ChainDeployment, dict[str, Any]]) -> None:
    proc, dep, block = node
    fields = ["parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot", "logsBloom",
              "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData", "mixHash", "nonce",
              "baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot",
              "requestsHash"]
    for f in fields:
        bad = dict(block)
        v = bad[f]
        if f in ("difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed",
                 "excessBlobGas"):
            bad[f] = hex(int(v, 16) + 1)
        elif f == "extraData":
            bad[f] = v + "01"
        else:
            bad[f] = v[:-1] + ("0" if v[-1] != "0" else "1")
        with pytest.raises(ChainError, match="does not hash to its claimed hash"):
            parse_header(bad, where="rpc-x")
    # dropping the newest field changes the hash; a later fork's field without an earlier one is invalid
    bad = dict(block)
    del bad["requestsHash"]
    with pytest.raises(ChainError, match="does not hash"):
        parse_header(bad)
    bad = dict(block)
    bad["parentBeaconBlockRoot"] = None
    with pytest.raises(ChainError, match="has requestsHash but not parentBeaconBlockRoot"):
        parse_header(bad)
    for f, v, msg in [("number", "0x00" + block["number"][2:], "canonical"), ("stateRoot", "0x1234", "has 2 bytes"),
                      ("gasUsed", 21000, "not a 0x-hex string"), ("hash", "0x12", "has 1 bytes")]:
        bad = dict(block)
        bad[f] = v
        with pytest.raises(ChainError, match=msg):
            parse_header(bad)
    bad = dict(block)
    del bad["stateRoot"]
    with pytest.raises(ChainError, match="lacks header field"):
        parse_header(bad)


def test_more_structurally_bad_nodes_rejected() -> None:
    """The remaining shape checks of verify_proof, each with a node that must trip it."""
    key = b"k"
    path = _path(key)
    cases: list[tuple[list[bytes], str]] = []
    # a short node with an empty hex-prefix path, and an extension whose path is empty
    cases.append(([rlp.encode([b"", b"v"])], "empty hex-prefix path"))
    cases.append(([rlp.encode([b"\x00", keccak(b"child")])], "extension node with an empty path"))
    # an inline (embedded) child whose RLP is 32 bytes or more must have been referenced by hash
    branch: list[Any] = [b""] * 17
    branch[path[0]] = [_hp(path[1:], True), b"x" * 40]
    cases.append(([rlp.encode(branch)], "embedded node of"))
    # an extension that consumes all 64 nibbles, then a branch: no key ends inside a branch
    inner = rlp.encode([b""] * 17)
    cases.append(([rlp.encode([_hp(path, False), keccak(inner)]), inner], "whole key consumed"))
    for proof, msg in cases:
        with pytest.raises(ChainError, match=msg):
            verify_proof(keccak(proof[0]), key, proof)
