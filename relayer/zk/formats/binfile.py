"""The iden3 binary container shared by `.r1cs`, `.wtns` and `.zkey` files.

Layout (iden3 binfileutils 0.0.12 `src/binfileutils.js`, r1csfile `doc/r1cs_bin_format.md`), all
little-endian:
    magic        4 bytes   ASCII file type ("r1cs", "wtns", "zkey")
    version      u32
    n_sections   u32
    n_sections x { type u32, size u64, size bytes of content }
Unknown section types are ignored by readers; required sections must appear exactly once.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from relayer.errors import FormatError


@dataclass(frozen=True)
class BinFile:
    """A parsed container: the raw bytes and, per section type, the (offset, size) of each copy."""

    data: bytes
    kind: str
    version: int
    sections: dict[int, list[tuple[int, int]]]
    source: str

    def section(self, stype: int) -> memoryview:
        """The content of a required, unique section."""
        found = self.sections.get(stype)
        if not found:
            raise FormatError(f"{self.source}: required section {stype} is missing from the {self.kind} file")
        if len(found) > 1:
            raise FormatError(f"{self.source}: section {stype} appears {len(found)} times in the {self.kind} file; "
                              "it must appear once")
        off, size = found[0]
        return memoryview(self.data)[off : off + size]

    def has(self, stype: int) -> bool:
        return bool(self.sections.get(stype))


def read_container(src: bytes | str | Path, kind: str, max_version: int) -> BinFile:
    """Parse the container; reject a wrong magic, an unsupported version or a truncated file."""
    if isinstance(src, (str, Path)):
        name = str(src)
        try:
            data = Path(src).read_bytes()
        except OSError as e:
            raise FormatError(f"cannot read {kind} file {name}: {e}") from e
    else:
        name = f"<{kind} bytes>"
        data = bytes(src)
    if len(data) < 12:
        raise FormatError(f"{name}: too short for a {kind} file ({len(data)} bytes)")
    magic = data[:4]
    if magic != kind.encode("ascii"):
        raise FormatError(f"{name}: not a {kind} file (magic {magic!r}, expected {kind.encode()!r})")
    version, n_sections = struct.unpack_from("<II", data, 4)
    if version == 0 or version > max_version:
        raise FormatError(f"{name}: {kind} version {version} is not supported (1..{max_version})")
    pos = 12
    sections: dict[int, list[tuple[int, int]]] = {}
    for i in range(n_sections):
        if pos + 12 > len(data):
            raise FormatError(f"{name}: truncated: header of section {i + 1}/{n_sections} is past the end of file")
        stype, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise FormatError(f"{name}: truncated: section {stype} claims {size} bytes, "
                              f"only {len(data) - pos} remain")
        sections.setdefault(stype, []).append((pos, size))
        pos += size
    if pos != len(data):
        raise FormatError(f"{name}: {len(data) - pos} trailing bytes after the last section")
    return BinFile(data=data, kind=kind, version=version, sections=sections, source=name)


def write_container(kind: str, version: int, sections: Iterable[tuple[int, bytes]]) -> bytes:
    """Serialize sections (type, content) in the given order."""
    secs = list(sections)
    magic = kind.encode("ascii")
    if len(magic) != 4:
        raise ValueError(f"file magic must be 4 ASCII bytes, got {kind!r}")
    parts = [magic, struct.pack("<II", version, len(secs))]
    for stype, content in secs:
        parts.append(struct.pack("<IQ", stype, len(content)))
        parts.append(content)
    return b"".join(parts)


class Reader:
    """Sequential little-endian reader over one section, with bounds checks that name the section."""

    def __init__(self, buf: memoryview, what: str) -> None:
        self.buf = buf
        self.pos = 0
        self.what = what

    def _need(self, n: int) -> None:
        if self.pos + n > len(self.buf):
            raise FormatError(f"{self.what}: truncated (needs {n} bytes at offset {self.pos}, "
                              f"section has {len(self.buf)})")

    def u32(self) -> int:
        self._need(4)
        v = struct.unpack_from("<I", self.buf, self.pos)[0]
        self.pos += 4
        return int(v)

    def u64(self) -> int:
        self._need(8)
        v = struct.unpack_from("<Q", self.buf, self.pos)[0]
        self.pos += 8
        return int(v)

    def bigint(self, n8: int) -> int:
        self._need(n8)
        v = int.from_bytes(self.buf[self.pos : self.pos + n8], "little")
        self.pos += n8
        return v

    def expect_end(self) -> None:
        if self.pos != len(self.buf):
            raise FormatError(f"{self.what}: {len(self.buf) - self.pos} unexpected bytes at the end of the section")


def field_bytes(prime: int) -> int:
    """Bytes per field element: the prime's size rounded up to 64-bit words (as snarkjs)."""
    return ((prime.bit_length() - 1) // 64 + 1) * 8
