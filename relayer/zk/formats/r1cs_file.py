"""circom `.r1cs` files (version 1) to and from our `R1CS`.

Layout (iden3 r1csfile 0.0.48 `doc/r1cs_bin_format.md`, confirmed against its `src/r1csfile.js`),
inside the iden3 container with magic "r1cs", all little-endian, field elements `fs` bytes, canonical
(not Montgomery):
    section 1 header:      fs u32, prime (fs bytes), nWires u32, nPubOut u32, nPubIn u32, nPrvIn u32,
                           nLabels u64, mConstraints u32
    section 2 constraints: per constraint, A then B then C, each: nTerms u32, then nTerms x
                           (wireId u32, coefficient fs bytes); the spec asks for ascending ids,
                           circom 2 does not always sort them, so readers accept any order
    section 3 wire->label: nWires x u64 (label id of each wire; wire 0 -> label 0)
    sections 4, 5:         custom gates (PLONK only): an R1CS cannot carry them, so we reject them.
"""

from __future__ import annotations

import gc
import struct
from dataclasses import dataclass, field
from pathlib import Path

from relayer.errors import FormatError
from relayer.zk.formats.binfile import Reader, field_bytes, read_container, write_container
from relayer.zk.r1cs import R1CS, LinearCombination

SECTION_HEADER = 1
SECTION_CONSTRAINTS = 2
SECTION_WIRE2LABEL = 3
SECTION_CUSTOM_GATES_LIST = 4
SECTION_CUSTOM_GATES_USES = 5
R1CS_VERSION = 1


@dataclass
class R1csFile:
    """Everything a `.r1cs` file holds: the constraint system and circom's wire -> label map."""

    r1cs: R1CS
    n_labels: int
    wire_to_label: list[int] = field(default_factory=list)


def read_r1cs_file(src: bytes | str | Path) -> R1csFile:
    """Parse a `.r1cs` file (path or bytes); raise FormatError on anything malformed."""
    bf = read_container(src, "r1cs", R1CS_VERSION)
    name = bf.source
    if bf.has(SECTION_CUSTOM_GATES_LIST) or bf.has(SECTION_CUSTOM_GATES_USES):
        raise FormatError(f"{name}: the circuit uses custom gates (PLONK); Groth16 needs a plain R1CS "
                          "(compile with circom without --O2 custom templates)")

    hdr = Reader(bf.section(SECTION_HEADER), f"{name} header section")
    n8 = hdr.u32()
    if n8 == 0 or n8 % 8:
        raise FormatError(f"{name}: field size {n8} is not a positive multiple of 8")
    prime = hdr.bigint(n8)
    if prime < 3 or field_bytes(prime) != n8:
        raise FormatError(f"{name}: prime {prime} does not match the field size {n8}")
    n_wires, n_pub_out, n_pub_in, n_prv_in = hdr.u32(), hdr.u32(), hdr.u32(), hdr.u32()
    n_labels = hdr.u64()
    m = hdr.u32()
    hdr.expect_end()
    if n_wires < 1 or 1 + n_pub_out + n_pub_in + n_prv_in > n_wires:
        raise FormatError(f"{name}: header counts are inconsistent: nWires={n_wires}, nPubOut={n_pub_out}, "
                          f"nPubIn={n_pub_in}, nPrvIn={n_prv_in}")

    buf = bf.section(SECTION_CONSTRAINTS)
    constraints = _parse_constraints(buf, m, n8, prime, n_wires, name)

    # the map only names wires (snarkjs proves without loading it), so it is optional here
    wire_to_label: list[int] = []
    if bf.has(SECTION_WIRE2LABEL):
        mp = bf.section(SECTION_WIRE2LABEL)
        if len(mp) != 8 * n_wires:
            raise FormatError(f"{name}: wire->label section has {len(mp)} bytes, expected 8 x {n_wires} wires")
        wire_to_label = list(struct.unpack_from(f"<{n_wires}Q", mp, 0))
        if wire_to_label and wire_to_label[0] != 0:
            raise FormatError(f"{name}: wire 0 must map to label 0, found {wire_to_label[0]}")
        if any(lbl >= n_labels for lbl in wire_to_label):
            raise FormatError(f"{name}: a wire maps to a label >= nLabels ({n_labels})")

    r1cs = R1CS(
        n_wires=n_wires,
        n_pub_out=n_pub_out,
        n_pub_in=n_pub_in,
        n_prv_in=n_prv_in,
        constraints=constraints,
        prime=prime,
    )
    return R1csFile(r1cs=r1cs, n_labels=n_labels, wire_to_label=wire_to_label)


def read_r1cs(src: bytes | str | Path) -> R1CS:
    """The constraint system of a `.r1cs` file."""
    return read_r1cs_file(src).r1cs


def _parse_constraints(buf: memoryview, m: int, n8: int, prime: int, n_wires: int,
                       name: str) -> list[tuple[LinearCombination, LinearCombination, LinearCombination]]:
    # millions of small dicts and no garbage: the cyclic GC's full scans would dominate the parse
    was = gc.isenabled()
    gc.disable()
    try:
        return _parse_constraints_inner(bytes(buf), m, n8, prime, n_wires, name)
    finally:
        if was:
            gc.enable()


def _parse_constraints_inner(data: bytes, m: int, n8: int, prime: int, n_wires: int,
                             name: str) -> list[tuple[LinearCombination, LinearCombination, LinearCombination]]:
    size = len(data)
    pos = 0
    step = 4 + n8
    unpack_u32 = struct.Struct("<I").unpack_from
    term = struct.Struct(f"<I{n8}s")
    from_bytes = int.from_bytes
    out: list[tuple[LinearCombination, LinearCombination, LinearCombination]] = []
    for ci in range(m):
        lcs: list[LinearCombination] = []
        for part in "ABC":
            if pos + 4 > size:
                raise FormatError(f"{name}: constraints section truncated in constraint {ci} ({part})")
            (nt,) = unpack_u32(data, pos)
            pos += 4
            end = pos + nt * step
            if end > size:
                raise FormatError(f"{name}: constraints section truncated in constraint {ci} ({part}: {nt} terms)")
            lc: LinearCombination = {w: from_bytes(v, "little") for w, v in term.iter_unpack(data[pos:end])}
            if len(lc) != nt:
                # the spec asks for ascending ids but circom itself does not always sort them;
                # a repeated id, though, would silently drop a term
                raise FormatError(f"{name}: constraint {ci} ({part}) lists a wire twice")
            for w, v in lc.items():
                if w >= n_wires:
                    raise FormatError(f"{name}: constraint {ci} ({part}) uses wire {w}, circuit has {n_wires}")
                if v >= prime:
                    raise FormatError(f"{name}: constraint {ci} ({part}) coefficient is not reduced mod the prime")
            if 0 in lc.values():
                lc = {w: v for w, v in lc.items() if v}
            pos = end
            lcs.append(lc)
        out.append((lcs[0], lcs[1], lcs[2]))
    if pos != size:
        raise FormatError(f"{name}: constraints section has {size - pos} bytes beyond its {m} constraints")
    return out


def r1cs_to_bytes(r1cs: R1CS, wire_to_label: list[int] | None = None, n_labels: int | None = None) -> bytes:
    """Serialize an R1CS; without a label map every wire is its own label (what our builder means)."""
    prime = r1cs.prime
    n8 = field_bytes(prime)
    labels = list(range(r1cs.n_wires)) if wire_to_label is None else list(wire_to_label)
    if len(labels) != r1cs.n_wires:
        raise FormatError(f"wire->label map has {len(labels)} entries, the circuit has {r1cs.n_wires} wires")
    nl = (max(labels) + 1 if labels else 0) if n_labels is None else n_labels
    header = (struct.pack("<I", n8) + prime.to_bytes(n8, "little")
              + struct.pack("<IIIIQI", r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in, nl,
                            len(r1cs.constraints)))
    body = bytearray()
    pack_u32 = struct.Struct("<I").pack
    for ci, constraint in enumerate(r1cs.constraints):
        for lc in constraint:
            terms = sorted((w, v % prime) for w, v in lc.items() if v % prime)
            body += pack_u32(len(terms))
            for w, v in terms:
                if not 0 <= w < r1cs.n_wires:
                    raise FormatError(f"constraint {ci} uses wire {w}, the circuit has {r1cs.n_wires} wires")
                body += pack_u32(w)
                body += v.to_bytes(n8, "little")
    wmap = struct.pack(f"<{len(labels)}Q", *labels)
    return write_container("r1cs", R1CS_VERSION, [(SECTION_HEADER, header), (SECTION_CONSTRAINTS, bytes(body)),
                                                  (SECTION_WIRE2LABEL, wmap)])


def write_r1cs(path: str | Path, r1cs: R1CS, wire_to_label: list[int] | None = None,
               n_labels: int | None = None) -> None:
    Path(path).write_bytes(r1cs_to_bytes(r1cs, wire_to_label, n_labels))


def read_sym(src: str | Path, n_wires: int | None = None) -> dict[int, str]:
    """Wire names from circom's `.sym` file (lines `labelId,wireId,componentId,name`; wireId -1 marks
    a signal the optimizer removed). Set the result as `R1CS.wire_names` to debug a circom circuit."""
    names: dict[int, str] = {0: "one"}
    try:
        text = Path(src).read_text()
    except OSError as e:
        raise FormatError(f"cannot read sym file {src}: {e}") from e
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(",", 3)
        try:
            wire = int(parts[1])
            name = parts[3]
        except (IndexError, ValueError) as e:
            raise FormatError(f"{src}:{lineno}: expected 'labelId,wireId,componentId,name', got {line!r}") from e
        if wire < 0:
            continue
        if n_wires is not None and wire >= n_wires:
            raise FormatError(f"{src}:{lineno}: wire {wire} is beyond the circuit's {n_wires} wires")
        # several labels can share a wire (aliases); keep the first, shortest-path name
        names.setdefault(wire, name)
    return names
