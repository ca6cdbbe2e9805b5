"""Recursive Length Prefix encoding (Ethereum Yellow Paper, Appendix B), strict on decode.

Strict means every item must be in its one canonical form (shortest length prefix, no leading
zero length bytes, a single byte < 0x80 never wrapped as a string): an RPC cannot feed two byte
strings that decode to the same node. Items are `bytes` or lists of items.
"""

from __future__ import annotations

from typing import Union

from relayer.errors import FormatError

Item = Union[bytes, list["Item"]]


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    len_bytes = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(len_bytes)]) + len_bytes


def encode(item: Item) -> bytes:
    """RLP of a byte string or a (nested) list of byte strings."""
    if isinstance(item, (bytes, bytearray)):
        b = bytes(item)
        if len(b) == 1 and b[0] < 0x80:
            return b
        return _length_prefix(len(b), 0x80) + b
    if isinstance(item, list):
        body = b"".join(encode(x) for x in item)
        return _length_prefix(len(body), 0xC0) + body
    raise FormatError(f"RLP encodes bytes and lists, not {type(item).__name__}")


def encode_uint(value: int) -> bytes:
    """The byte string RLP uses for a scalar: big-endian, no leading zeros (0 -> b'')."""
    if value < 0:
        raise FormatError(f"RLP scalars are non-negative, got {value}")
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def decode_uint(data: bytes, what: str = "scalar") -> int:
    """Inverse of encode_uint; a leading zero byte is not canonical and is rejected."""
    if len(data) > 0 and data[0] == 0:
        raise FormatError(f"RLP {what} has a leading zero byte (not canonical)")
    return int.from_bytes(data, "big")


def _decode_at(data: bytes, pos: int) -> tuple[Item, int]:
    if pos >= len(data):
        raise FormatError("RLP input ends before the item it announces")
    b0 = data[pos]
    if b0 < 0x80:
        return data[pos : pos + 1], pos + 1
    if b0 < 0xB8:
        length, start = b0 - 0x80, pos + 1
        if length == 1 and start < len(data) and data[start] < 0x80:
            raise FormatError("RLP wraps a single byte < 0x80 as a string (not canonical)")
    elif b0 < 0xC0:
        length, start = _long_length(data, pos, b0 - 0xB7)
    elif b0 < 0xF8:
        length, start = b0 - 0xC0, pos + 1
    else:
        length, start = _long_length(data, pos, b0 - 0xF7)
    end = start + length
    if end > len(data):
        raise FormatError(f"RLP item announces {length} bytes but only {len(data) - start} remain")
    if b0 < 0xC0:
        return data[start:end], end
    items: list[Item] = []
    p = start
    while p < end:
        item, p = _decode_at(data, p)
        items.append(item)
    if p != end:
        raise FormatError("RLP list items overrun the list's length")
    return items, end


def _long_length(data: bytes, pos: int, n: int) -> tuple[int, int]:
    len_bytes = data[pos + 1 : pos + 1 + n]
    if len(len_bytes) != n:
        raise FormatError("RLP length prefix is truncated")
    if len_bytes[0] == 0:
        raise FormatError("RLP length has a leading zero byte (not canonical)")
    length = int.from_bytes(len_bytes, "big")
    if length < 56:
        raise FormatError("RLP uses a long length form for a length < 56 (not canonical)")
    return length, pos + 1 + n


def decode(data: bytes) -> Item:
    """Decode exactly one item that spans all of `data`; raises FormatError otherwise."""
    item, end = _decode_at(bytes(data), 0)
    if end != len(data):
        raise FormatError(f"{len(data) - end} trailing byte(s) after the RLP item")
    return item


__all__ = ["Item", "decode", "decode_uint", "encode", "encode_uint"]
