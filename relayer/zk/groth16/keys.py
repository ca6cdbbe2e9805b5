"""Groth16 proving/verifying key objects and their files (sha256-checked on every load).

Proving key file `proving_key.bin` (little-endian):
    magic  b"RGPK" | version u32 = 1 | header_len u32 | header (UTF-8 JSON, see `_header`)
    sections, in the order and with the byte lengths listed in header["sections"]:
      coeffs   u32 count, then count × (u32 matrix, u32 row, u32 wire, 32-byte Fr canonical)
      a, b1, c, h   G1 affine points, x then y, 32-byte canonical Fq each (infinity = zeros)
      b2       G2 affine points, x.c0, x.c1, y.c0, y.c1 (infinity = zeros)
    sha256 (32 bytes) of every byte before it.
Verifying key file `verifying_key.json`: {"format", "version", "dev", "contributions", "vk"
(snarkjs verification_key.json fields), "sha256"}, the hash over the canonical JSON
(sorted keys, no spaces) of the object without "sha256".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from relayer.errors import ConfigError, FormatError
from relayer.zk.field import Q, R, G1Point, G2Point, array_to_g1, array_to_g2, g1_to_array, g2_to_array
from relayer.zk.curve import g1_valid, g2_valid
from relayer.zk.groth16.qap import QAP, Coef
from relayer.zk.groth16.types import VerifyingKey

log = logging.getLogger(__name__)

PK_MAGIC = b"RGPK"
PK_VERSION = 1
VK_FORMAT = "relayer-groth16-vk"
PK_FILE = "proving_key.bin"
VK_FILE = "verifying_key.json"
SNARKJS_VK_FILE = "verification_key.json"
DEV_WARNING = "development setup: not for production (one local contribution; whoever ran it could forge proofs)"


@dataclass
class ProvingKey:
    """Everything the prover needs; query arrays follow snarkjs's zkey sections 5-9."""

    vk: VerifyingKey
    beta_g1: G1Point
    delta_g1: G1Point
    qap: QAP
    a_query: np.ndarray  # (n_wires, 2, 4)        [u_i(τ)]G1
    b1_query: np.ndarray  # (n_wires, 2, 4)       [v_i(τ)]G1
    b2_query: np.ndarray  # (n_wires, 2, 2, 4)    [v_i(τ)]G2
    c_query: np.ndarray  # (n_wires - n_public - 1, 2, 4)  [(βu_i + αv_i + w_i)(τ)/δ]G1, private wires
    h_query: np.ndarray  # (domain_size, 2, 4)    [L^{2n}_{2j+1}(τ)/δ]G1
    dev: bool = False
    contributions: list[dict[str, Any]] = field(default_factory=list)
    # backend name -> prepared base handles; built once per key per process (see prover.py)
    prepared: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_public(self) -> int:
        return self.qap.n_public

    @property
    def n_wires(self) -> int:
        return self.qap.n_wires

    @property
    def transcript_hash(self) -> str:
        return self.contributions[-1]["hash"] if self.contributions else ""

    def check_shapes(self) -> None:
        q = self.qap
        want = {
            "a": (self.a_query, (q.n_wires, 2, 4)),
            "b1": (self.b1_query, (q.n_wires, 2, 4)),
            "b2": (self.b2_query, (q.n_wires, 2, 2, 4)),
            "c": (self.c_query, (q.n_wires - q.n_public - 1, 2, 4)),
            "h": (self.h_query, (q.domain_size, 2, 4)),
        }
        for name, (arr, shape) in want.items():
            if arr.shape != shape:
                raise FormatError(f"proving key {name} query has shape {arr.shape}, expected {shape}")
        if len(self.vk.ic) != q.n_public + 1:
            raise FormatError(f"verifying key has {len(self.vk.ic)} IC points, expected {q.n_public + 1}")


# --- JSON point encodings (decimal strings, snarkjs style) --------------------------------------
def g1_json(p: G1Point) -> list[str]:
    return ["0", "1", "0"] if p is None else [str(p[0]), str(p[1]), "1"]


def g2_json(p: G2Point) -> list[list[str]]:
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    return [[str(p[0][0]), str(p[0][1])], [str(p[1][0]), str(p[1][1])], ["1", "0"]]


def _int(s: Any, what: str, bound: int) -> int:
    try:
        v = int(str(s), 10)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{what}: {s!r} is not a decimal integer") from exc
    if not 0 <= v < bound:
        raise FormatError(f"{what}: {v} is out of range [0, {bound})")
    return v


def g1_from_json(v: Any, what: str) -> G1Point:
    if not isinstance(v, list) or len(v) not in (2, 3):
        raise FormatError(f"{what}: a G1 point must be [x, y, z]")
    x, y = _int(v[0], what, Q), _int(v[1], what, Q)
    z = _int(v[2], what, Q) if len(v) == 3 else 1
    if z == 0:
        return None
    if z != 1:
        raise FormatError(f"{what}: only affine points (z = 1) are accepted")
    p = (x, y)
    if not g1_valid(p):
        raise FormatError(f"{what}: point is not on the BN254 G1 curve")
    return p


def g2_from_json(v: Any, what: str) -> G2Point:
    if not isinstance(v, list) or len(v) not in (2, 3) or not all(isinstance(c, list) and len(c) == 2 for c in v):
        raise FormatError(f"{what}: a G2 point must be [[x0, x1], [y0, y1], [z0, z1]]")
    x = (_int(v[0][0], what, Q), _int(v[0][1], what, Q))
    y = (_int(v[1][0], what, Q), _int(v[1][1], what, Q))
    z = (_int(v[2][0], what, Q), _int(v[2][1], what, Q)) if len(v) == 3 else (1, 0)
    if z == (0, 0):
        return None
    if z != (1, 0):
        raise FormatError(f"{what}: only affine points (z = 1) are accepted")
    p = (x, y)
    if not g2_valid(p):
        raise FormatError(f"{what}: point is not in the BN254 G2 subgroup")
    return p


# --- verifying key file -------------------------------------------------------------------------
def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_verifying_key(path: Path, vk: VerifyingKey, dev: bool, contributions: list[dict[str, Any]]) -> None:
    from relayer.zk.formats.snarkjs_json import vk_to_json

    body = {
        "format": VK_FORMAT,
        "version": 1,
        "dev": dev,
        "contributions": contributions,
        "vk": vk_to_json(vk, with_alphabeta=False),
    }
    body["sha256"] = hashlib.sha256(_canonical(body)).hexdigest()
    Path(path).write_text(json.dumps(body, indent=1) + "\n")


def read_verifying_key(path: Path) -> tuple[VerifyingKey, bool, list[dict[str, Any]]]:
    """(vk, dev, contributions); FormatError if the checksum or any point is wrong."""
    from relayer.zk.formats.snarkjs_json import vk_from_json

    try:
        body = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: cannot read verifying key JSON ({exc})") from exc
    if not isinstance(body, dict) or body.get("format") != VK_FORMAT:
        raise FormatError(f"{path}: not a {VK_FORMAT} file (for a snarkjs verification_key.json use --vkey)")
    if body.get("version") != 1:
        raise FormatError(f"{path}: unsupported version {body.get('version')!r}")
    want = body.pop("sha256", None)
    if want != hashlib.sha256(_canonical(body)).hexdigest():
        raise FormatError(f"{path}: checksum mismatch: the verifying key file is corrupt or was edited")
    try:
        vk = vk_from_json(body["vk"])
        dev = bool(body["dev"])
        contributions = list(body["contributions"])
    except (KeyError, TypeError) as exc:
        raise FormatError(f"{path}: verifying key file lacks {exc}") from exc
    if dev:
        log.warning("%s: %s", path, DEV_WARNING)
    return vk, dev, contributions


# --- proving key file ---------------------------------------------------------------------------
def _coeff_bytes(coeffs: tuple[Coef, ...]) -> bytes:
    parts = [struct.pack("<I", len(coeffs))]
    for mat, row, wire, v in coeffs:
        parts.append(struct.pack("<III", mat, row, wire) + v.to_bytes(32, "little"))
    return b"".join(parts)


def _coeffs_from(buf: bytes, path: Path) -> tuple[Coef, ...]:
    if len(buf) < 4:
        raise FormatError(f"{path}: coefficient section truncated")
    (count,) = struct.unpack_from("<I", buf, 0)
    if len(buf) != 4 + 44 * count:
        raise FormatError(f"{path}: coefficient section has {len(buf)} bytes, expected {4 + 44 * count}")
    out = []
    for i in range(count):
        off = 4 + 44 * i
        mat, row, wire = struct.unpack_from("<III", buf, off)
        v = int.from_bytes(buf[off + 12 : off + 44], "little")
        if mat > 2 or v >= R:
            raise FormatError(f"{path}: coefficient {i} is malformed")
        out.append((mat, row, wire, v))
    return tuple(out)


_SECTIONS = ("coeffs", "a", "b1", "b2", "c", "h")


def write_proving_key(path: Path, pk: ProvingKey) -> None:
    from relayer.zk.formats.snarkjs_json import vk_to_json

    pk.check_shapes()
    arrays = {
        "a": pk.a_query,
        "b1": pk.b1_query,
        "b2": pk.b2_query,
        "c": pk.c_query,
        "h": pk.h_query,
    }
    blobs = {"coeffs": _coeff_bytes(pk.qap.coeffs)}
    blobs.update({k: np.ascontiguousarray(v, dtype="<u8").tobytes() for k, v in arrays.items()})
    q = pk.qap
    header = {
        "dev": pk.dev,
        "contributions": pk.contributions,
        "n_wires": q.n_wires,
        "n_public": q.n_public,
        "n_constraints": q.n_constraints,
        "domain_size": q.domain_size,
        "has_c": q.has_c,
        "vk": vk_to_json(pk.vk, with_alphabeta=False),
        "beta_g1": g1_json(pk.beta_g1),
        "delta_g1": g1_json(pk.delta_g1),
        "sections": [[name, len(blobs[name])] for name in _SECTIONS],
    }
    hb = json.dumps(header, sort_keys=True).encode()
    body = PK_MAGIC + struct.pack("<II", PK_VERSION, len(hb)) + hb + b"".join(blobs[n] for n in _SECTIONS)
    tmp = Path(str(path) + ".tmp")
    tmp.write_bytes(body + hashlib.sha256(body).digest())
    tmp.replace(path)  # never leave a half-written key behind


def read_proving_key(path: Path) -> ProvingKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read proving key ({exc})") from exc
    if len(data) < 44 or data[:4] != PK_MAGIC:
        raise FormatError(f"{path}: not a relayer proving key (bad magic)")
    body, digest = data[:-32], data[-32:]
    if hashlib.sha256(body).digest() != digest:
        raise FormatError(f"{path}: checksum mismatch: the proving key file is corrupt; re-run the setup or copy it again")
    version, hlen = struct.unpack_from("<II", body, 4)
    if version != PK_VERSION:
        raise FormatError(f"{path}: unsupported proving key version {version}")
    try:
        header = json.loads(body[12 : 12 + hlen])
    except ValueError as exc:
        raise FormatError(f"{path}: header is not JSON") from exc
    try:
        return _proving_key_from(path, header, body, 12 + hlen)
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: proving key header is malformed ({exc!r})") from exc


def _proving_key_from(path: Path, header: dict[str, Any], body: bytes, off: int) -> ProvingKey:
    from relayer.zk.formats.snarkjs_json import vk_from_json

    blobs: dict[str, bytes] = {}
    for name, size in header["sections"]:
        blobs[name] = body[off : off + size]
        off += size
    if off != len(body) or set(blobs) != set(_SECTIONS):
        raise FormatError(f"{path}: section table does not match the file")
    q = QAP(
        n_wires=header["n_wires"],
        n_public=header["n_public"],
        n_constraints=header["n_constraints"],
        domain_size=header["domain_size"],
        coeffs=_coeffs_from(blobs["coeffs"], path),
        has_c=header["has_c"],
    )
    # indices are used unchecked by compiled kernels: a file must never point outside the arrays
    if q.domain_size & (q.domain_size - 1) or q.n_rows > q.domain_size or not 0 <= q.n_public < q.n_wires:
        raise FormatError(f"{path}: inconsistent sizes (wires {q.n_wires}, public {q.n_public}, domain {q.domain_size})")
    for mat, row, wire, _v in q.coeffs:
        if row >= q.n_rows or wire >= q.n_wires:
            raise FormatError(f"{path}: coefficient ({mat}, {row}, {wire}) is outside the circuit")

    def arr(name: str, tail: tuple[int, ...]) -> np.ndarray:
        a = np.frombuffer(blobs[name], dtype="<u8").astype(np.uint64)
        per = int(np.prod(tail))
        if a.size % per:
            raise FormatError(f"{path}: section {name} has a partial point")
        return a.reshape((-1, *tail))

    pk = ProvingKey(
        vk=vk_from_json(header["vk"]),
        beta_g1=g1_from_json(header["beta_g1"], "beta_g1"),
        delta_g1=g1_from_json(header["delta_g1"], "delta_g1"),
        qap=q,
        a_query=arr("a", (2, 4)),
        b1_query=arr("b1", (2, 4)),
        b2_query=arr("b2", (2, 2, 4)),
        c_query=arr("c", (2, 4)),
        h_query=arr("h", (2, 4)),
        dev=bool(header["dev"]),
        contributions=list(header["contributions"]),
    )
    pk.check_shapes()
    if pk.dev:
        log.warning("%s: %s", path, DEV_WARNING)
    return pk


KEY_FILES = (PK_FILE, VK_FILE, SNARKJS_VK_FILE)


def check_new_key_folder(out_dir: Path, key_files: tuple[str, ...] = KEY_FILES, flag: str = "--out") -> None:
    """Refuse a key folder target that would overwrite something: a folder holding any of `key_files`
    (named; a deployed verifier may hold that key's hash), a file, or a non-empty folder (the keys
    are renamed into place whole, which needs a missing or empty folder). Raises ConfigError."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{flag} {out_dir} exists and is not a folder; choose a new folder")
    if not out_dir.is_dir():
        return
    held = sorted(name for name in key_files if (out_dir / name).exists() or (out_dir / name).is_symlink())
    if held:
        raise ConfigError(f"{flag} {out_dir} already holds a key ({', '.join(held)}); a key folder is never "
                          "overwritten (verifiers deployed from it check that key's hash): choose a new folder, "
                          "or move this one aside yourself")
    if any(out_dir.iterdir()):
        raise ConfigError(f"{flag} {out_dir} is not empty and is not a key folder; choose a new (or empty) folder")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_key_folder(out_dir: Path, fill: Callable[[Path], None], key_files: tuple[str, ...] = KEY_FILES,
                     flag: str = "--out") -> None:
    """Create the key folder `out_dir` whole or not at all: `fill(tmp)` writes the files into a hidden
    sibling folder, which is renamed to `out_dir` once they are on disk (a crash or an error leaves
    no `out_dir`; a missing or empty `out_dir` only, see check_new_key_folder)."""
    out_dir = Path(out_dir)
    check_new_key_folder(out_dir, key_files, flag)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        # mkdtemp makes a 0700 folder; a key folder is public material, give it mkdir's usual mode
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        fill(tmp)
        for f in tmp.iterdir():  # on disk before the rename makes them visible as the key
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        check_new_key_folder(out_dir, key_files, flag)  # still free: nothing appeared there meanwhile
        os.rename(tmp, out_dir)  # rename(2) of a folder onto a missing or empty folder is atomic
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(out_dir.parent)


def write_key_files(folder: Path, pk: ProvingKey) -> None:
    """proving_key.bin, verifying_key.json (ours, checksummed) and snarkjs's verification_key.json
    into `folder` as they are (no overwrite check: `folder` is a fresh one of write_key_folder)."""
    from relayer.zk.formats.snarkjs_json import write_vk_json

    folder = Path(folder)
    write_proving_key(folder / PK_FILE, pk)
    write_verifying_key(folder / VK_FILE, pk.vk, pk.dev, pk.contributions)
    write_vk_json(folder / SNARKJS_VK_FILE, pk.vk)


def save_keys(out_dir: Path, pk: ProvingKey) -> None:
    """Write a new key folder `out_dir` (proving_key.bin, verifying_key.json, verification_key.json)
    whole or not at all; ConfigError when `out_dir` holds a key or other files (never overwritten)."""
    write_key_folder(out_dir, lambda d: write_key_files(d, pk))


def load_proving_key(key_dir: Path) -> ProvingKey:
    return read_proving_key(Path(key_dir) / PK_FILE)


def load_verifying_key(key_dir: Path) -> tuple[VerifyingKey, bool, list[dict[str, Any]]]:
    return read_verifying_key(Path(key_dir) / VK_FILE)


def points_g1(arr: np.ndarray) -> list[G1Point]:
    return array_to_g1(arr)


def points_g2(arr: np.ndarray) -> list[G2Point]:
    return array_to_g2(arr)


__all__ = [
    "DEV_WARNING",
    "KEY_FILES",
    "ProvingKey",
    "check_new_key_folder",
    "g1_to_array",
    "g2_to_array",
    "load_proving_key",
    "load_verifying_key",
    "read_proving_key",
    "read_verifying_key",
    "save_keys",
    "write_key_files",
    "write_key_folder",
    "write_proving_key",
    "write_verifying_key",
]
