"""snarkjs/circom `.wtns` witness files (version 2) to and from a list of field elements, or
straight to the prover's (n, 4) uint64 limb array (`read_wtns_limbs`, no Python int per value).

Layout (snarkjs 0.7.6 `src/wtns_utils.js`), iden3 container with magic "wtns", little-endian:
    section 1 header: n8 u32, prime (n8 bytes), nWitness u32
    section 2 values: nWitness x n8 bytes, canonical (not Montgomery), in wire order
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from relayer.errors import FormatError
from relayer.zk.field import R, first_not_below
from relayer.zk.formats.binfile import BinFile, Reader, field_bytes, read_container, write_container

SECTION_HEADER = 1
SECTION_VALUES = 2
WTNS_VERSION = 2


def _read_header(bf: BinFile) -> tuple[int, int, int]:
    """(n8, prime, n) from the header section, with the values section's size checked against them."""
    name = bf.source
    hdr = Reader(bf.section(SECTION_HEADER), f"{name} header section")
    n8 = hdr.u32()
    if n8 == 0 or n8 % 8:
        raise FormatError(f"{name}: field size {n8} is not a positive multiple of 8")
    prime = hdr.bigint(n8)
    n = hdr.u32()
    hdr.expect_end()
    size = len(bf.section(SECTION_VALUES))
    if size != n * n8:
        raise FormatError(f"{name}: values section has {size} bytes, the header announces {n} x {n8}")
    return n8, prime, n


def _check_prime(name: str, prime: int, expected: int) -> None:
    if prime != expected:
        raise FormatError(f"{name}: witness is over the field {prime}, expected the BN254 scalar field {expected}")


def read_wtns(src: bytes | str | Path, expected_prime: int | None = R) -> list[int]:
    """The witness values; reject a field other than `expected_prime` (None accepts any)."""
    bf = read_container(src, "wtns", WTNS_VERSION)
    name = bf.source
    n8, prime, _n = _read_header(bf)
    if expected_prime is not None:
        _check_prime(name, prime, expected_prime)
    body = bytes(bf.section(SECTION_VALUES))
    vals = [int.from_bytes(body[i : i + n8], "little") for i in range(0, len(body), n8)]
    for i, v in enumerate(vals):
        if v >= prime:
            raise FormatError(f"{name}: witness value {i} is not reduced mod the prime")
    if vals and vals[0] != 1:
        raise FormatError(f"{name}: witness[0] must be the constant 1, found {vals[0]}")
    return vals


def read_wtns_limbs(src: bytes | str | Path) -> np.ndarray:
    """The witness as the prover's (n, 4) uint64 array of little-endian 64-bit limbs in standard
    (not Montgomery) form — `relayer.zk.field.ints_to_limbs(read_wtns(src))`, without a Python int
    per value: the 32-byte little-endian values are viewed as limbs and range-checked in numpy.

    The file must be over BN254's r with 32-byte values; every value must be < r and witness[0]
    must be 1 (FormatError otherwise, as read_wtns). The array is a writable copy, not a view of
    the file's bytes.
    """
    bf = read_container(src, "wtns", WTNS_VERSION)
    name = bf.source
    n8, prime, n = _read_header(bf)
    _check_prime(name, prime, R)
    if n8 != 32:  # field_bytes(r) is 32; a padded width would not be the limb layout
        raise FormatError(f"{name}: values are {n8} bytes wide, BN254 witnesses use 32")
    # "<u8": the file is little-endian whatever the host; astype makes the one copy (native uint64)
    w = np.frombuffer(bf.section(SECTION_VALUES), dtype="<u8").reshape(n, 4).astype(np.uint64)
    bad = first_not_below(w)
    if bad >= 0:
        raise FormatError(f"{name}: witness value {bad} is not reduced mod the prime")
    if n and (w[0, 0] != 1 or w[0, 1:].any()):
        first = int.from_bytes(w[0].astype("<u8").tobytes(), "little")
        raise FormatError(f"{name}: witness[0] must be the constant 1, found {first}")
    return w


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
