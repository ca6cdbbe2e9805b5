"""Block headers: the RLP encoding whose keccak256 is the block hash, checked field by field.

Field order (Yellow Paper §4.3, then each fork's EIP appending to the list):
  parentHash, ommersHash (sha3Uncles), beneficiary (miner), stateRoot, transactionsRoot,
  receiptsRoot, logsBloom, difficulty, number, gasLimit, gasUsed, timestamp, extraData,
  mixHash (prevRandao), nonce,
  baseFeePerGas (London, EIP-1559), withdrawalsRoot (Shanghai, EIP-4895),
  blobGasUsed, excessBlobGas (Cancun, EIP-4844), parentBeaconBlockRoot (Cancun, EIP-4788),
  requestsHash (Prague, EIP-7685).
Hashes, addresses, the bloom and the nonce are fixed-width byte strings; the other numbers are
RLP scalars. A fork's fields are present only from that fork on, so the optional tail must be a
prefix of the list above: a later field without an earlier one is not a valid header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from relayer.errors import ChainError
from relayer.watch import rlp

# (JSON-RPC name, kind): kind is the byte width of a fixed-size field, 0 for a scalar, -1 for
# variable-length bytes (extraData)
_BASE_FIELDS: tuple[tuple[str, int], ...] = (
    ("parentHash", 32), ("sha3Uncles", 32), ("miner", 20), ("stateRoot", 32), ("transactionsRoot", 32),
    ("receiptsRoot", 32), ("logsBloom", 256), ("difficulty", 0), ("number", 0), ("gasLimit", 0),
    ("gasUsed", 0), ("timestamp", 0), ("extraData", -1), ("mixHash", 32), ("nonce", 8),
)
_FORK_FIELDS: tuple[tuple[str, int], ...] = (
    ("baseFeePerGas", 0), ("withdrawalsRoot", 32), ("blobGasUsed", 0), ("excessBlobGas", 0),
    ("parentBeaconBlockRoot", 32), ("requestsHash", 32),
)


@dataclass(frozen=True)
class BlockHeader:
    """A header whose fields hash to `hash` (checked when built by `parse_header`)."""

    hash: bytes
    parent_hash: bytes
    number: int
    state_root: bytes
    timestamp: int
    fields: tuple[tuple[str, bytes | int], ...]  # every encoded field, in order, decoded

    def encode(self) -> bytes:
        return encode_fields(self.fields)


def encode_fields(fields: tuple[tuple[str, bytes | int], ...]) -> bytes:
    items: list[rlp.Item] = [rlp.encode_uint(v) if isinstance(v, int) else v for _, v in fields]
    return rlp.encode(items)


def _field(block: Mapping[str, Any], name: str, kind: int, where: str) -> bytes | int:
    value = block[name]
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ChainError(f"{where}: header field {name} is not a 0x-hex string: {value!r}")
    digits = value[2:]
    try:
        if kind == 0:
            if digits == "" or (len(digits) > 1 and digits[0] == "0"):
                raise ValueError("not a canonical hex quantity")
            return int(digits, 16)
        raw = bytes.fromhex(digits)
    except ValueError as exc:
        raise ChainError(f"{where}: header field {name} = {value!r}: {exc}") from None
    if kind > 0 and len(raw) != kind:
        raise ChainError(f"{where}: header field {name} has {len(raw)} bytes, expected {kind}")
    return raw


def parse_header(block: Mapping[str, Any], where: str = "block") -> BlockHeader:
    """Rebuild the header from an `eth_getBlockByNumber` result and check that its RLP hashes to
    the block's `hash`. Raises ChainError (naming `where`, e.g. the RPC URL) on any mismatch."""
    if not isinstance(block, Mapping):
        raise ChainError(f"{where}: expected a block object, got {type(block).__name__}")
    missing = [n for n, _ in _BASE_FIELDS if n not in block]
    if missing or "hash" not in block:
        raise ChainError(f"{where}: block lacks header field(s) {', '.join(missing or ['hash'])}")
    fields: list[tuple[str, bytes | int]] = [(n, _field(block, n, k, where)) for n, k in _BASE_FIELDS]
    absent: str | None = None
    for name, kind in _FORK_FIELDS:
        if block.get(name) is None:
            absent = absent or name
            continue
        if absent is not None:
            raise ChainError(f"{where}: header has {name} but not {absent}; a later fork's field cannot come "
                             "without an earlier one")
        fields.append((name, _field(block, name, kind, where)))
    claimed = _field(block, "hash", 32, where)
    assert isinstance(claimed, bytes)
    tup = tuple(fields)
    actual = keccak(encode_fields(tup))
    if actual != claimed:
        raise ChainError(f"{where}: block {block.get('number')} header does not hash to its claimed hash "
                         f"0x{claimed.hex()} (fields hash to 0x{actual.hex()}); the RPC returned a tampered or "
                         "inconsistent header")
    values = dict(tup)
    parent, number, state_root, timestamp = (values["parentHash"], values["number"], values["stateRoot"],
                                             values["timestamp"])
    assert isinstance(parent, bytes) and isinstance(state_root, bytes)
    assert isinstance(number, int) and isinstance(timestamp, int)
    return BlockHeader(hash=claimed, parent_hash=parent, number=number, state_root=state_root,
                       timestamp=timestamp, fields=tup)


__all__ = ["BlockHeader", "encode_fields", "parse_header"]
