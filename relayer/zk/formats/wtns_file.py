"""snarkjs/circom `.wtns` witness files (version 2) to and from a list of field elements.

Layout (snarkjs 0.7.6 `src/wtns_utils.js`), iden3 container with magic "wtns", little-endian:
    section 1 header: n8 u32, prime (n8 bytes), nWitness u32
    section 2 values: nWitness x n8 bytes, canonical (not Montgomery), in wire order
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

from relayer.errors import FormatError
from relayer.zk.field import R
from relayer.zk.formats.binfile import Reader, field_bytes, read_container, write_container

SECTION_HEADER = 1
SECTION_VALUES = 2
WTNS_VERSION = 2


def read_wtns(src: bytes | str | Path, expected_prime: int | None = R) -> list[int]:
    """The witness values; reject a field other than `expected_prime` (None accepts any)."""
    bf = read_container(src, "wtns", WTNS_VERSION)
    name = bf.source
    hdr = Reader(bf.section(SECTION_HEADER), f"{name} header section")
    n8 = hdr.u32()
    if n8 == 0 or n8 % 8:
        raise FormatError(f"{name}: field size {n8} is not a positive multiple of 8")
    prime = hdr.bigint(n8)
    n = hdr.u32()
    hdr.expect_end()
    if expected_prime is not None and prime != expected_prime:
        raise FormatError(f"{name}: witness is over the field {prime}, expected the BN254 scalar field {expected_prime}")
    body = bytes(bf.section(SECTION_VALUES))
    if len(body) != n * n8:
        raise FormatError(f"{name}: values section has {len(body)} bytes, the header announces {n} x {n8}")
    vals = [int.from_bytes(body[i : i + n8], "little") for i in range(0, len(body), n8)]
    for i, v in enumerate(vals):
        if v >= prime:
            raise FormatError(f"{name}: witness value {i} is not reduced mod the prime")
    if n and vals[0] != 1:
        raise FormatError(f"{name}: witness[0] must be the constant 1, found {vals[0]}")
    return vals


def wtns_to_bytes(witness: Sequence[int], prime: int = R) -> bytes:
    n8 = field_bytes(prime)
    header = struct.pack("<I", n8) + prime.to_bytes(n8, "little") + struct.pack("<I", len(witness))
    parts = []
    for i, v in enumerate(witness):
        iv = int(v)
        if not 0 <= iv < prime:
            raise FormatError(f"witness value {i} is outside [0, prime): {iv}")
        parts.append(iv.to_bytes(n8, "little"))
    return write_container("wtns", WTNS_VERSION, [(SECTION_HEADER, header), (SECTION_VALUES, b"".join(parts))])


def write_wtns(path: str | Path, witness: Sequence[int], prime: int = R) -> None:
    Path(path).write_bytes(wtns_to_bytes(witness, prime))
