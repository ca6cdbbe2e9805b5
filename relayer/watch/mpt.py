"""Merkle-Patricia trie proof verification: an account against a block's stateRoot, storage slots
against the account's storageRoot (Ethereum Yellow Paper, Appendix D "Modified Merkle Patricia
Tree" and Appendix C "Hex-Prefix Encoding"; the proof format is EIP-1186 `eth_getProof`).

Both tries are "secure": the path to a value is keccak256(key) (the 20-byte address, or the
32-byte big-endian slot). Every failure is a ChainError: the RPC that sent the proof lied or is
broken, and nothing read from it may be signed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address

from relayer.errors import ChainError, FormatError
from relayer.watch import rlp

# keccak256(rlp(b"")): the root of a trie with no entries (Yellow Paper, Appendix D)
EMPTY_TRIE_ROOT = keccak(rlp.encode(b""))
# keccak256(b""): the code hash of an account without code
EMPTY_CODE_HASH = keccak(b"")


@dataclass(frozen=True)
class Account:
    """The account tuple of the state trie (Yellow Paper §4.1): RLP([nonce, balance, storageRoot, codeHash])."""

    nonce: int
    balance: int
    storage_root: bytes
    code_hash: bytes


def _nibbles(data: bytes) -> tuple[int, ...]:
    out: list[int] = []
    for b in data:
        out += (b >> 4, b & 0x0F)
    return tuple(out)


def _hex_prefix_decode(encoded: bytes) -> tuple[tuple[int, ...], bool]:
    """Hex-prefix decoding (Yellow Paper, Appendix C): (nibbles, is_leaf). The first nibble is the
    flag: bit 1 = leaf (terminator), bit 0 = odd length; an even path pads the flag nibble with 0."""
    if not encoded:
        raise ChainError("trie node has an empty hex-prefix path")
    flag = encoded[0] >> 4
    if flag > 3:
        raise ChainError(f"trie node path has an invalid hex-prefix flag {flag}")
    nibbles = _nibbles(encoded)
    if flag & 1:
        path = nibbles[1:]
    else:
        if nibbles[1] != 0:
            raise ChainError("trie node path of even length has a non-zero padding nibble")
        path = nibbles[2:]
    return path, bool(flag & 2)


def verify_proof(root: bytes, key: bytes, proof: Sequence[bytes], what: str = "key") -> bytes | None:
    """Check that `proof` (trie nodes from the root down, RLP-encoded) proves the value under
    keccak256(key) in the trie with root hash `root`. Returns the stored value (raw bytes), or
    None when the proof shows that the key is absent. Raises ChainError for any inconsistency.
    """
    if len(root) != 32:
        raise ChainError(f"{what}: trie root must be 32 bytes, got {len(root)}")
    if root == EMPTY_TRIE_ROOT and not proof:
        return None  # some clients send no node at all for an empty trie
    path = _nibbles(keccak(key))
    pos = 0  # nibbles of `path` consumed so far
    used = 0  # proof elements consumed so far
    expected: bytes | None = root  # hash the next proof element must have; None: `node` is embedded
    node: Any = None

    def finish(value: bytes | None) -> bytes | None:
        if used != len(proof):
            raise ChainError(f"{what}: proof has {len(proof) - used} node(s) after the one that decides the key")
        return value

    while True:
        if expected is not None:
            if used >= len(proof):
                raise ChainError(f"{what}: proof ends after {used} node(s) before reaching the key")
            raw = bytes(proof[used])
            used += 1
            if keccak(raw) != expected:
                if used == 1:
                    raise ChainError(f"{what}: the first proof node does not hash to the root 0x{root.hex()}")
                raise ChainError(f"{what}: proof node {used - 1} does not hash to the reference in node {used - 2}")
            try:
                node = rlp.decode(raw)
            except FormatError as exc:
                raise ChainError(f"{what}: proof node {used - 1} is not valid RLP: {exc}") from None
        if node == b"":
            # the empty node: only the root of an empty trie may be empty
            if root != EMPTY_TRIE_ROOT or used != 1:
                raise ChainError(f"{what}: empty node inside a non-empty trie")
            return finish(None)
        if not isinstance(node, list):
            raise ChainError(f"{what}: trie node is a string, not a list")
        if len(node) == 17:  # branch: 16 children + value
            if pos == len(path):
                # secure-trie keys are all 64 nibbles, so no value ever sits in a branch
                raise ChainError(f"{what}: branch node reached with the whole key consumed")
            child = node[path[pos]]
            pos += 1
        elif len(node) == 2:
            if not isinstance(node[0], bytes):
                raise ChainError(f"{what}: trie node path is not a byte string")
            seg, is_leaf = _hex_prefix_decode(node[0])
            if is_leaf:
                if tuple(path[pos:]) != seg:
                    return finish(None)  # a different key's leaf sits where ours would be
                if not isinstance(node[1], bytes) or node[1] == b"":
                    raise ChainError(f"{what}: leaf value is empty or not a byte string")
                return finish(node[1])
            if not seg:
                raise ChainError(f"{what}: extension node with an empty path")
            if tuple(path[pos : pos + len(seg)]) != seg:
                return finish(None)  # the key leaves the extension's shared path: absent
            pos += len(seg)
            child = node[1]
        else:
            raise ChainError(f"{what}: trie node has {len(node)} items (expected 2 or 17)")

        if child == b"":
            return finish(None)
        if isinstance(child, bytes):
            if len(child) != 32:
                raise ChainError(f"{what}: child reference of {len(child)} bytes (expected a 32-byte hash)")
            expected = child
        elif isinstance(child, list):
            # a node whose RLP is shorter than 32 bytes is embedded in its parent (Appendix D, c(J,i))
            encoded = rlp.encode(child)
            if len(encoded) >= 32:
                raise ChainError(f"{what}: embedded node of {len(encoded)} bytes (must be < 32)")
            if used < len(proof) and bytes(proof[used]) == encoded:
                used += 1  # some nodes also list embedded nodes as proof elements
            node, expected = child, None
        else:
            raise ChainError(f"{what}: malformed child reference")


def verify_account(state_root: bytes, address: str, proof: Sequence[bytes]) -> Account | None:
    """The account at `address` in the state trie with root `state_root` (None: no such account)."""
    addr = bytes.fromhex(to_checksum_address(address)[2:])
    raw = verify_proof(state_root, addr, proof, what=f"account {to_checksum_address(address)}")
    if raw is None:
        return None
    try:
        fields = rlp.decode(raw)
        parts = [f for f in fields if isinstance(f, bytes)] if isinstance(fields, list) else []
        if len(parts) != 4 or len(parts) != len(fields):
            raise FormatError("expected a list of 4 byte strings")
        nonce_b, balance_b, storage_root, code_hash = parts
        account = Account(rlp.decode_uint(nonce_b, "nonce"), rlp.decode_uint(balance_b, "balance"),
                          storage_root, code_hash)
    except FormatError as exc:
        raise ChainError(f"account {address}: proven leaf is not an account record: {exc}") from None
    if len(account.storage_root) != 32 or len(account.code_hash) != 32:
        raise ChainError(f"account {address}: storage root and code hash must be 32 bytes")
    return account


def verify_storage(storage_root: bytes, slot: int, proof: Sequence[bytes], what: str = "storage") -> int:
    """The uint256 in `slot` of the storage trie with root `storage_root` (absent slots are 0)."""
    if not 0 <= slot < 2**256:
        raise ChainError(f"{what}: slot {slot} is not a uint256")
    raw = verify_proof(storage_root, slot.to_bytes(32, "big"), proof, what=f"{what} slot 0x{slot:064x}")
    if raw is None:
        return 0
    try:
        inner = rlp.decode(raw)
        if not isinstance(inner, bytes):
            raise FormatError("a list")
        value = rlp.decode_uint(inner, "storage value")
    except FormatError as exc:
        raise ChainError(f"{what} slot 0x{slot:064x}: stored value is not an RLP scalar: {exc}") from None
    if value == 0 or len(inner) > 32:
        # clients delete a slot set to zero; a stored zero (or > 256 bits) is not a real trie
        raise ChainError(f"{what} slot 0x{slot:064x}: proven value {value} cannot be in a storage trie")
    return value


def _hex_bytes(value: Any, field: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ChainError(f"eth_getProof field {field} is not a 0x-hex string: {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ChainError(f"eth_getProof field {field} is not valid hex: {value!r}") from None


def _hex_int(value: Any, field: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ChainError(f"eth_getProof field {field} is not a 0x-hex quantity: {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise ChainError(f"eth_getProof field {field} is not a hex quantity: {value!r}") from None


def check_get_proof(state_root: bytes, address: str, slots: Sequence[int], response: Mapping[str, Any]
                    ) -> tuple[Account, dict[int, int]]:
    """Verify an EIP-1186 `eth_getProof(address, slots)` response against `state_root`.

    Returns the proven account and {slot: value}. The response's own summary fields (balance,
    nonce, storageHash, codeHash, each storage `value`) must equal what the proofs prove: an RPC
    that reports one number and proves another is rejected, not half-trusted.
    """
    if not isinstance(response, Mapping):
        raise ChainError(f"eth_getProof for {address} returned {type(response).__name__}, not an object")
    addr = to_checksum_address(address)
    if str(response.get("address", "")).lower() != addr.lower():
        raise ChainError(f"eth_getProof was asked about {addr} but answered for {response.get('address')!r}")
    account_proof = [_hex_bytes(n, "accountProof[]") for n in response.get("accountProof") or []]
    account = verify_account(state_root, addr, account_proof)
    if account is None:
        raise ChainError(f"account {addr} does not exist at this block (the proof shows it absent); "
                         "check the contract address in the config")
    claimed = Account(_hex_int(response.get("nonce"), "nonce"), _hex_int(response.get("balance"), "balance"),
                      _hex_bytes(response.get("storageHash"), "storageHash"),
                      _hex_bytes(response.get("codeHash"), "codeHash"))
    if claimed != account:
        raise ChainError(f"eth_getProof for {addr}: the reported account fields {claimed} differ from the proven {account}")
    entries = response.get("storageProof")
    if not isinstance(entries, list) or len(entries) != len(slots):
        raise ChainError(f"eth_getProof for {addr}: asked for {len(slots)} storage slot(s), got "
                         f"{len(entries) if isinstance(entries, list) else entries!r}")
    values: dict[int, int] = {}
    for slot, entry in zip(slots, entries):
        if not isinstance(entry, Mapping):
            raise ChainError(f"eth_getProof for {addr}: storageProof entry is not an object")
        if _hex_int(entry.get("key"), "storageProof[].key") != slot:
            raise ChainError(f"eth_getProof for {addr}: storage proof for key {entry.get('key')!r} where slot "
                             f"0x{slot:064x} was asked")
        proof = [_hex_bytes(n, "storageProof[].proof[]") for n in entry.get("proof") or []]
        proven = verify_storage(account.storage_root, slot, proof, what=f"{addr} storage")
        reported = _hex_int(entry.get("value"), "storageProof[].value")
        if reported != proven:
            raise ChainError(f"eth_getProof for {addr} slot 0x{slot:064x}: reports value {reported} but its proof "
                             f"proves {proven}")
        values[slot] = proven
    return account, values


__all__ = ["Account", "EMPTY_CODE_HASH", "EMPTY_TRIE_ROOT", "check_get_proof", "verify_account", "verify_proof",
           "verify_storage"]
