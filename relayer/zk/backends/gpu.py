"""The `gpu` prover backend: CUDA C kernels (gpu_kernels.cu) launched from CuPy, data kept on the device.

The kernel file also builds as plain C++ (`HostEngine`), which runs the very same kernel bodies in a
loop on the CPU: the tests drive this whole backend through it where no GPU exists.
"""

from __future__ import annotations

import abc
import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from relayer.errors import BackendUnavailable, ProverError, ToolError
from relayer.zk.backends.base import ProverBackend
from relayer.zk.field import (
    FR_TWO_ADICITY,
    Q,
    R,
    G1Point,
    G2Point,
    first_not_below,
    fr_root_of_unity,
    ints_to_limbs,
    limbs_to_ints,
)

log = logging.getLogger(__name__)

# Device array layouts (flat uint64, little-endian 64-bit limbs, Montgomery form R = 2^256 unless
# noted): Fr/Fq element = 4 words; Fq2 = 8 (c0 then c1). Affine G1 = x, y (8 words), affine G2 =
# x.c0, x.c1, y.c0, y.c1 (16); (0, 0) is infinity. Jacobian G1 = X, Y, Z (12), G2 (24); Z = 0 is
# infinity. Results leave the device canonical (jac_to_affine_*, fr_from_mont).
#
# MSM pipeline (all on the device; the host only sizes launches):
#   msm_digits: signed c-bit digits -> (bucket key, point index | sign) per (window, scalar);
#   argsort by key; searchsorted gives each bucket's range in the sorted entries;
#   msm_bucket_sum: chunks of <= CHUNK_FIRST entries per thread (mixed affine additions);
#   jac_segment_sum: a tree of partial sums until each bucket is one point (skewed witnesses);
#   msm_bucket_reduce: running sums over BUCKET_SEG buckets per thread, + lo * segment sum;
#   jac_segment_sum per window, msm_window_combine (Horner over windows), jac_to_affine.
# Batch inversion is element-parallel Fermat (a^(r-2)) on the device: no serial prefix products.
#
# Resident proving (the optional `resident_qap` capability of the backend interface): the witness is
# uploaded once (load_witness -> GpuScalars, canonical) and every MSM reads that copy; the key's QAP
# coefficients are uploaded once per key (prepare_qap, CSR by row, Montgomery); qap_rows computes the
# A, B, C rows, qap_check the first unsatisfied row (atomic minimum); h_resident runs compute_h on
# those rows and leaves d on the device for the H MSM. Per proof only the witness goes up.

_HERE = Path(__file__).resolve().parent
KERNEL_FILE = _HERE / "gpu_kernels.cu"
HEADER_FILE = _HERE / "gpu_field.cuh"

INSTALL_HINT = (
    "the gpu prover needs an NVIDIA GPU with a working CUDA driver and CuPy: "
    "install the gpu extra: pip install -e '.[gpu]' (cupy-cuda13x), or choose --prover cpu"
)

# Argument kinds of each kernel after the leading n_threads (int64): p = device pointer, i = int64.
KERNEL_ARGS: dict[str, str] = {
    "fq_to_mont": "pp",
    "fq_from_mont": "pp",
    "fr_to_mont": "pp",
    "fr_from_mont": "pp",
    "fr_mul_vec": "ppp",
    "fr_add_vec": "ppp",
    "fr_sub_vec": "ppp",
    "fr_inv_vec": "pp",
    "fq_inv_vec": "pp",
    "fr_powers": "pp",
    "fr_scale_pow": "ppp",
    "fr_bitrev": "ppi",
    "fr_ntt_stage": "ppii",
    "fr_h_combine": "pppp",
    "qap_rows": "ppppp",
    "qap_check": "pip",
    "msm_digits": "piipp",
    "msm_bucket_sum_g1": "ppppp",
    "msm_bucket_sum_g2": "ppppp",
    "jac_segment_sum_g1": "pppp",
    "jac_segment_sum_g2": "pppp",
    "msm_bucket_reduce_g1": "piiip",
    "msm_bucket_reduce_g2": "piiip",
    "msm_window_combine_g1": "piip",
    "msm_window_combine_g2": "piip",
    "jac_to_affine_g1": "pp",
    "jac_to_affine_g2": "pp",
    "g1_check_curve": "ppp",
    "g2_check_curve": "ppp",
    "fb_table_g1": "pp",
    "fb_table_g2": "pp",
    "fb_mul_g1": "ppp",
    "fb_mul_g2": "ppp",
    "g1_point_op": "ippp",
    "g2_point_op": "ippp",
    "fq_op": "ippp",
    "fr_op": "ippp",
    "fq2_op": "ippp",
}

# u64 words per point: Jacobian (X, Y, Z) and affine (x, y), G1 over Fq (4 limbs), G2 over Fq2 (8).
JAC_WORDS = {1: 12, 2: 24}
AFF_WORDS = {1: 8, 2: 16}

# Entries summed by one thread in the first bucket level and in each later reduction level: a bucket
# with many entries (a witness full of ones) is split over many threads, then reduced as a tree.
CHUNK_FIRST = 32
CHUNK_REDUCE = 32
# Buckets per thread in the running-sum bucket reduction.
BUCKET_SEG = 32
FB_WINDOWS, FB_DIGITS = 32, 256  # fixed-base table: 32 byte windows x 256 multiples


def kernel_source() -> str:
    """The .cu file with its header inlined (NVRTC gets one self-contained string; CuPy's kernel
    cache keys on it, so a header change is never served a stale binary)."""
    src = KERNEL_FILE.read_text()
    header = HEADER_FILE.read_text()
    inc = '#include "gpu_field.cuh"'
    if inc not in src:
        raise ToolError(f"{KERNEL_FILE} does not include gpu_field.cuh")
    return src.replace(inc, header.replace("#pragma once", "// (header inlined)"))


def source_digest() -> str:
    return hashlib.sha256(kernel_source().encode()).hexdigest()[:16]


def cubin_name() -> str:
    return f"gpu_kernels-{source_digest()}.sm_90.cubin"


# ------------------------------------------------------------------------------------------------
# Engines: where kernels run. Both expose the same small surface to GpuBackend.
# ------------------------------------------------------------------------------------------------


class _Engine(abc.ABC):
    xp: Any
    label: str = "engine"

    def __init__(self) -> None:
        self.bytes_h2d = 0
        self.bytes_d2h = 0

    @abc.abstractmethod
    def launch(self, name: str, n_threads: int, *args: Any) -> None: ...

    @abc.abstractmethod
    def upload(self, arr: np.ndarray) -> Any: ...

    @abc.abstractmethod
    def download(self, arr: Any) -> np.ndarray: ...

    @abc.abstractmethod
    def to_int(self, value: Any) -> int: ...

    @abc.abstractmethod
    def argsort(self, keys: Any) -> Any: ...

    def synchronize(self) -> None:
        pass


class HostEngine(_Engine):
    """Runs the kernel bodies on the CPU from a g++ build of gpu_kernels.cu (for tests)."""

    label = "host emulation"

    def __init__(self, lib_path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.xp = np
        self.lib = ctypes.CDLL(str(lib_path))
        self._fns: dict[str, Any] = {}
        for name, kinds in KERNEL_ARGS.items():
            fn = getattr(self.lib, name)
            fn.restype = None
            fn.argtypes = [ctypes.c_int64] + [
                ctypes.c_void_p if k == "p" else ctypes.c_int64 for k in kinds
            ]
            self._fns[name] = fn
        self._set_order = self.lib.host_set_thread_order
        self._set_order.restype = None
        self._set_order.argtypes = [ctypes.c_int64]
        self.thread_order = "ascending"

    THREAD_ORDERS = {"ascending": 0, "descending": 1, "scattered": 2}

    def set_thread_order(self, order: str) -> None:
        """Run every later launch's threads in this order (a GPU promises none): results that change
        with it expose a kernel that reads what another thread of the same launch writes."""
        if order not in self.THREAD_ORDERS:
            raise ProverError(f"thread order must be one of {sorted(self.THREAD_ORDERS)}, not {order!r}")
        self._set_order(self.THREAD_ORDERS[order])
        self.thread_order = order

    def launch(self, name: str, n_threads: int, *args: Any) -> None:
        kinds = KERNEL_ARGS[name]
        if len(args) != len(kinds):
            raise ProverError(f"kernel {name} takes {len(kinds)} arguments, got {len(args)}")
        cargs: list[Any] = []
        for k, a in zip(kinds, args):
            if k == "p":
                if not isinstance(a, np.ndarray) or not a.flags["C_CONTIGUOUS"]:
                    raise ProverError(f"kernel {name}: pointer argument must be a contiguous array")
                cargs.append(ctypes.c_void_p(a.ctypes.data))
            else:
                cargs.append(int(a))
        if n_threads > 0:
            self._fns[name](int(n_threads), *cargs)

    def upload(self, arr: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(arr).copy()
        self.bytes_h2d += out.nbytes
        return out

    def download(self, arr: np.ndarray) -> np.ndarray:
        self.bytes_d2h += arr.nbytes
        return np.array(arr, copy=True)

    def to_int(self, value: Any) -> int:
        self.bytes_d2h += 8
        return int(value)

    def argsort(self, keys: np.ndarray) -> np.ndarray:
        if self.thread_order == "ascending":
            return np.argsort(keys, kind="stable")
        # cupy.argsort promises no order among equal keys: other thread orders get ties reversed, so
        # code that assumed a stable sort (entries of a bucket in point order) shows up here
        rev = np.argsort(keys[::-1], kind="stable")
        return (keys.shape[0] - 1 - rev).astype(np.int64)


def build_host_library(out_dir: str | os.PathLike[str], compiler: str = "g++") -> Path:
    """Compile gpu_kernels.cu as plain C++ into a shared library for HostEngine."""
    cxx = shutil.which(compiler)
    if cxx is None:
        raise ToolError(f"{compiler} not found: install a C++ compiler (apt-get install g++)")
    out = Path(out_dir) / f"gpu_kernels_host-{source_digest()}.so"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gpu_kernels_all.cpp"
        src.write_text(kernel_source())
        tmp_out = Path(tmp) / out.name
        proc = subprocess.run(
            [cxx, "-std=c++17", "-O2", "-shared", "-fPIC", "-Wall", "-Wno-unused-function", "-o", str(tmp_out), str(src)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise ToolError(f"g++ failed on gpu_kernels.cu:\n{proc.stderr[-4000:]}")
        shutil.move(str(tmp_out), out)
    return out


class CupyEngine(_Engine):
    """Kernels on the CUDA device through CuPy (RawModule from a prebuilt cubin or NVRTC)."""

    label = "cuda"
    BLOCK = 128

    def __init__(self) -> None:
        super().__init__()
        import cupy  # imported here only: the gpu backend is the one place CuPy may be loaded

        self.cp = cupy
        self.xp = cupy
        self.compile_seconds = 0.0
        self.module_origin = ""
        t0 = time.perf_counter()
        self.module = self._load_module()
        self._fns = {name: self.module.get_function(name) for name in KERNEL_ARGS}
        self.compile_seconds = time.perf_counter() - t0

    def _load_module(self) -> Any:
        cp = self.cp
        cubin_dir = os.environ.get("RELAYER_GPU_CUBIN_DIR")
        if cubin_dir:
            path = Path(cubin_dir) / cubin_name()
            cc = cp.cuda.Device().compute_capability
            if path.exists() and cc == "90":
                try:
                    mod = cp.RawModule(path=str(path))
                    mod.get_function("fr_powers")  # forces the load now, not at first launch
                    self.module_origin = f"cubin {path.name}"
                    return mod
                except Exception as exc:  # a cubin the driver refuses: compile from source instead
                    log.warning("gpu backend: could not load %s (%s); compiling with NVRTC", path, exc)
            else:
                log.info("gpu backend: no matching cubin %s (cc %s); compiling with NVRTC", path, cc)
        mod = cp.RawModule(code=kernel_source(), options=("-std=c++17",))
        mod.get_function("fr_powers")
        self.module_origin = "nvrtc"
        return mod

    def launch(self, name: str, n_threads: int, *args: Any) -> None:
        if n_threads <= 0:
            return
        kinds = KERNEL_ARGS[name]
        if len(args) != len(kinds):
            raise ProverError(f"kernel {name} takes {len(kinds)} arguments, got {len(args)}")
        cargs: list[Any] = [np.int64(n_threads)]
        for k, a in zip(kinds, args):
            if k == "p":
                # CuPy passes a view's base pointer as is: a strided view would be read as contiguous
                # (the host engine refuses the same thing, so tests there catch it first)
                if not isinstance(a, self.cp.ndarray) or not a.flags.c_contiguous:
                    raise ProverError(f"kernel {name}: pointer argument must be a contiguous device array")
                cargs.append(a)
            else:
                cargs.append(np.int64(a))  # every scalar parameter is i64 (see KERNEL_ARGS)
        grid = (int(n_threads) + self.BLOCK - 1) // self.BLOCK
        if grid > 2**31 - 1:  # CUDA's grid.x limit
            raise ProverError(f"kernel {name}: {n_threads} threads exceed one launch's grid")
        self._fns[name]((grid,), (self.BLOCK,), tuple(cargs))

    def upload(self, arr: np.ndarray) -> Any:
        a = np.ascontiguousarray(arr)
        self.bytes_h2d += a.nbytes
        return self.cp.asarray(a)

    def download(self, arr: Any) -> np.ndarray:
        out = self.cp.asnumpy(arr)
        self.bytes_d2h += out.nbytes
        return out

    def to_int(self, value: Any) -> int:
        self.bytes_d2h += 8
        return int(value)

    def argsort(self, keys: Any) -> Any:
        return self.cp.argsort(keys)

    def synchronize(self) -> None:
        self.cp.cuda.Device().synchronize()


# ------------------------------------------------------------------------------------------------
# Host-side helpers: validation and Montgomery constants
# ------------------------------------------------------------------------------------------------

_MONT = 1 << 256


def _mont_fr(x: int) -> np.ndarray:
    return ints_to_limbs([(x % R) * _MONT % R])


def _check_below(arr: np.ndarray, modulus: int, what: str) -> None:
    """Raise ProverError unless every 4-limb value in arr (..., 4) is < modulus (vectorized)."""
    bad = first_not_below(arr, modulus)
    if bad >= 0:
        raise ProverError(f"{what}: coordinate at index {bad} is not reduced below the field modulus")


def _as_limbs(arr: np.ndarray, shape_tail: tuple[int, ...], what: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype != np.uint64 or a.ndim != 1 + len(shape_tail) or a.shape[1:] != shape_tail:
        raise ProverError(
            f"{what}: expected a uint64 array of shape (n, {', '.join(map(str, shape_tail))}), "
            f"got {a.dtype} {a.shape} (see relayer.zk.field array conventions)"
        )
    return np.ascontiguousarray(a)


def _fq2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


# G2 twist: y^2 = x^3 + 3/(9 + u) (EIP-197); b2 computed rather than copied.
_B2 = _fq2_mul((3, 0), (9 * pow(82, -1, Q) % Q, (-1 * pow(82, -1, Q)) % Q))  # 3 * (9 - u)/82


# 2 * (1, 2) on y^2 = x^3 + 3 (tangent rule), the curve self-check's expected value
_L2 = 3 * pow(2 * 2, -1, Q) % Q  # slope 3x^2 / 2y at (1, 2)
_X2 = (_L2 * _L2 - 2) % Q
_TWO_G1 = (_X2, (_L2 * (1 - _X2) - 2) % Q)

# curve coefficients in Montgomery form for the on-curve kernels
_B1_MONT = ints_to_limbs([3 * _MONT % Q])
_B2_MONT = ints_to_limbs([_B2[0] * _MONT % Q, _B2[1] * _MONT % Q])


def _check_g1(p: G1Point) -> None:
    if p is None:
        return
    x, y = p
    if not (0 <= x < Q and 0 <= y < Q):
        raise ProverError(f"G1 point {p}: coordinates must be reduced below q")
    if (y * y - x * x * x - 3) % Q:
        raise ProverError(f"G1 point {p} is not on the BN254 curve y^2 = x^3 + 3")


def _check_g2(p: G2Point) -> None:
    if p is None:
        return
    x, y = p
    if not all(0 <= c < Q for c in (*x, *y)):
        raise ProverError("G2 point coordinates must be reduced below q")
    lhs = _fq2_mul(y, y)
    x3 = _fq2_mul(_fq2_mul(x, x), x)
    rhs = ((x3[0] + _B2[0]) % Q, (x3[1] + _B2[1]) % Q)
    if lhs != rhs:
        raise ProverError(f"G2 point {p} is not on the BN254 twist y^2 = x^3 + 3/(9+u)")


@dataclass
class GpuBases:
    """Prepared MSM bases: Montgomery affine points resident in device memory."""

    group: int  # 1 or 2
    n: int
    data: Any  # device array, n * AFF_WORDS[group] uint64


@dataclass
class GpuScalars:
    """Canonical Fr scalars resident on the device (a witness, h's evaluations); msm_g1/msm_g2 take
    it in place of an array, so the values are uploaded (or computed) once per proof."""

    data: Any  # device array, 4 * n uint64
    n: int


@dataclass
class GpuQap:
    """A key's QAP coefficients on the device, grouped by row (see prepare_qap)."""

    row_ptr: Any  # int64, 3 * domain + 1
    wires: Any  # uint32, one per coefficient
    coefs: Any  # Montgomery Fr, 4 words per coefficient
    domain: int
    n_check: int  # rows checked A*B = C (0 when the key has no C coefficients)
    min_wires: int  # 1 + the largest wire index used


@dataclass
class GpuQapRows:
    """A, B and C = A*B over the domain for one witness, Montgomery, resident: [3][domain] elements."""

    abc: Any
    domain: int


@dataclass
class GpuStats:
    """Timings (seconds) of the last operations, for the benchmark."""

    last: dict[str, float] = field(default_factory=dict)


class GpuBackend(ProverBackend):
    name = "gpu"
    resident_qap = True

    def __init__(self, engine: _Engine | None = None) -> None:
        self.engine: _Engine = engine if engine is not None else CupyEngine()
        self.xp = self.engine.xp
        self.window_bits: int | None = None  # override of the MSM window (benchmark sweeps)
        self.stats = GpuStats()
        self._twiddles: dict[tuple[int, bool], Any] = {}
        self._consts: dict[int, Any] = {}
        self._curve_consts: dict[bytes, Any] = {}
        self._self_check()

    def _self_check(self) -> None:
        """A few products and one point doubling against plain ints before any real work: a
        miscompiled or misbehaving device makes the backend unavailable instead of wrong."""
        import random

        rnd = random.Random(1)
        for kernel, p in (("fq_op", Q), ("fr_op", R)):
            xs = [p - 1, 1] + [rnd.randrange(p) for _ in range(30)]
            ys = [p - 1, p - 1] + [rnd.randrange(p) for _ in range(30)]
            a = self.engine.upload(ints_to_limbs([x * _MONT % p for x in xs]).reshape(-1))
            b = self.engine.upload(ints_to_limbs([y * _MONT % p for y in ys]).reshape(-1))
            out = self.xp.zeros_like(a)
            self.engine.launch(kernel, len(xs), 2, a, b, out)
            got = [v * pow(_MONT, -1, p) % p for v in limbs_to_ints(self.engine.download(out))]
            if got != [x * y % p for x, y in zip(xs, ys)]:
                raise BackendUnavailable(
                    f"gpu kernels failed their arithmetic self-check ({kernel}) on {self.engine.label}; "
                    "use --prover cpu and report the device and driver"
                )
        two_g = self.fixed_base_mul_g1((1, 2), ints_to_limbs([2]))
        if limbs_to_ints(two_g.reshape(-1, 4)) != list(_TWO_G1):
            raise BackendUnavailable("gpu kernels failed their curve self-check (2*G1); use --prover cpu")

    # --- availability / description ---------------------------------------------------------
    @classmethod
    def check_available(cls) -> None:
        try:
            import cupy
        except Exception as exc:  # ImportError, or a CuPy build that cannot find CUDA libraries
            raise BackendUnavailable(f"CuPy is not importable ({exc}); {INSTALL_HINT}") from exc
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: no driver, no device
            raise BackendUnavailable(f"no usable CUDA device ({exc}); {INSTALL_HINT}") from exc
        if count <= 0:
            raise BackendUnavailable(f"CUDA reports no device; {INSTALL_HINT}")

    def describe(self) -> str:
        eng = self.engine
        if isinstance(eng, CupyEngine):
            cp = eng.cp
            props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
            dev = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
            return f"gpu: {dev}, {props['multiProcessorCount']} SMs, cupy {cp.__version__}, kernels {eng.module_origin}"
        return f"gpu ({eng.label})"

    @property
    def bytes_h2d(self) -> int:
        return self.engine.bytes_h2d

    @property
    def bytes_d2h(self) -> int:
        return self.engine.bytes_d2h

    def transfer_counters(self) -> dict[str, int]:
        return {"bytes_h2d": self.engine.bytes_h2d, "bytes_d2h": self.engine.bytes_d2h}

    # --- small device helpers -------------------------------------------------------------------
    def _const(self, x: int) -> Any:
        """A Montgomery Fr constant resident on the device."""
        x %= R
        if x not in self._consts:
            self._consts[x] = self.engine.upload(_mont_fr(x).reshape(-1))
        return self._consts[x]

    def _upload_const(self, limbs: np.ndarray) -> Any:
        key = limbs.tobytes()
        if key not in self._curve_consts:
            self._curve_consts[key] = self.engine.upload(limbs.reshape(-1))
        return self._curve_consts[key]

    def _empty(self, words: int) -> Any:
        return self.xp.empty(int(words), dtype=self.xp.uint64)

    # --- MSM --------------------------------------------------------------------------------------
    def _prepare(self, a: np.ndarray, group: int) -> GpuBases:
        """Upload bases once, convert to Montgomery form on the device, check them on the curve."""
        what = f"G{group} bases"
        _check_below(a, Q, what)
        n = a.shape[0]
        d = self.engine.upload(a.reshape(-1))
        self.engine.launch("fq_to_mont", n * AFF_WORDS[group] // 4, d, d)
        b_coef = _B1_MONT if group == 1 else _B2_MONT
        bad = self.xp.zeros(n, dtype=self.xp.uint32)
        self.engine.launch(f"g{group}_check_curve", n, d, self._upload_const(b_coef), bad)
        if n and self.engine.to_int(bad.max()):
            first = self.engine.to_int(self.xp.argmax(bad))
            raise ProverError(f"{what}: point at index {first} is not on the curve (y^2 != x^3 + b)")
        return GpuBases(group, n, d)

    def prepare_g1(self, bases: np.ndarray) -> GpuBases:
        return self._prepare(_as_limbs(bases, (2, 4), "G1 bases"), 1)

    def prepare_g2(self, bases: np.ndarray) -> GpuBases:
        return self._prepare(_as_limbs(bases, (2, 2, 4), "G2 bases"), 2)

    def msm_g1(self, bases: Any, scalars: np.ndarray | GpuScalars) -> G1Point:
        res = self._msm(bases, scalars, 1)
        return None if res is None else (res[0], res[1])

    def msm_g2(self, bases: Any, scalars: np.ndarray | GpuScalars) -> G2Point:
        res = self._msm(bases, scalars, 2)
        return None if res is None else ((res[0], res[1]), (res[2], res[3]))

    def _window(self, m: int) -> int:
        if self.window_bits is not None:
            if not 2 <= self.window_bits <= 16:
                raise ProverError("window_bits must be between 2 and 16")
            return self.window_bits
        # about log2(m) - 4: buckets ~ m/16 per window keep the bucket sums parallel and short
        return min(16, max(3, m.bit_length() - 4))

    def _split(self, start: Any, end: Any, chunk: int) -> tuple[Any, Any, Any, Any]:
        """Split groups [start, end) into chunks of <= `chunk` entries.

        Returns (chunk_start, chunk_end, group_first, group_end): the chunks of group g are
        chunk indices [group_first[g], group_end[g])."""
        xp = self.xp
        counts = end - start
        nch = (counts + (chunk - 1)) // chunk
        off = xp.cumsum(nch)
        first = off - nch
        total = self.engine.to_int(off[-1]) if off.shape[0] else 0
        k = xp.arange(total, dtype=xp.int64)
        grp = xp.searchsorted(off, k, side="right")
        cs = start[grp] + (k - first[grp]) * chunk
        ce = xp.minimum(cs + chunk, end[grp])
        return xp.ascontiguousarray(cs), xp.ascontiguousarray(ce), xp.ascontiguousarray(first), xp.ascontiguousarray(off)

    def _reduce_groups(self, pts: Any, gstart: Any, gend: Any, group: int) -> Any:
        """Sum the Jacobian points of each group [gstart[g], gend[g]) in a tree of short segments."""
        kern = f"jac_segment_sum_g{group}"
        words = JAC_WORDS[group]
        xp = self.xp
        while True:
            ngroups = int(gstart.shape[0])
            longest = self.engine.to_int(xp.max(gend - gstart)) if ngroups else 0
            if longest <= CHUNK_REDUCE:
                out = self._empty(ngroups * words)
                self.engine.launch(kern, ngroups, pts, xp.ascontiguousarray(gstart), xp.ascontiguousarray(gend), out)
                return out
            cs, ce, gstart, gend = self._split(gstart, gend, CHUNK_REDUCE)
            nxt = self._empty(int(cs.shape[0]) * words)
            self.engine.launch(kern, int(cs.shape[0]), pts, cs, ce, nxt)
            pts = nxt

    def _msm(self, handle: Any, scalars: np.ndarray | GpuScalars, group: int) -> list[int] | None:
        if not isinstance(handle, GpuBases) or handle.group != group:
            raise ProverError(f"msm_g{group} needs bases from prepare_g{group} of this backend")
        if isinstance(scalars, GpuScalars):
            sc = None  # already on the device (load_witness, h_resident): nothing to convert or upload
            m = scalars.n
        else:
            sc = _as_limbs(scalars, (4,), "scalars")
            m = sc.shape[0]
        if m > handle.n:
            raise ProverError(f"{m} scalars but only {handle.n} prepared bases")
        if m == 0:
            return None
        eng, xp = self.engine, self.xp
        t0 = time.perf_counter()
        c = self._window(m)
        n_windows = (255 + c - 1) // c  # signed digits of a scalar < r < 2^254 need 255 bits
        nb = 1 << (c - 1)
        total_b = n_windows * nb

        d_sc = scalars.data if sc is None else eng.upload(sc.reshape(-1))
        keys = xp.empty(n_windows * m, dtype=xp.int32)
        vals = xp.empty(n_windows * m, dtype=xp.uint32)
        eng.launch("msm_digits", m, d_sc, c, n_windows, keys, vals)
        order = eng.argsort(keys)
        skeys = xp.ascontiguousarray(keys[order])
        svals = xp.ascontiguousarray(vals[order])
        del keys, vals, order
        bounds = xp.searchsorted(skeys, xp.arange(total_b + 1, dtype=xp.int32), side="left").astype(xp.int64)
        start = xp.ascontiguousarray(bounds[:-1])
        end = xp.ascontiguousarray(bounds[1:])

        # bucket sums: chunks of sorted entries, then a tree of partial sums per bucket
        cs, ce, gfirst, gend = self._split(start, end, CHUNK_FIRST)
        partial = self._empty(int(cs.shape[0]) * JAC_WORDS[group])
        eng.launch(f"msm_bucket_sum_g{group}", int(cs.shape[0]), handle.data, svals, cs, ce, partial)
        buckets = self._reduce_groups(partial, gfirst, gend, group)

        # bucket reduction per window (segments of running sums), then windows combined
        seg = min(BUCKET_SEG, nb)
        segs = (nb + seg - 1) // seg
        red = self._empty(n_windows * segs * JAC_WORDS[group])
        eng.launch(f"msm_bucket_reduce_g{group}", n_windows * segs, buckets, nb, seg, segs, red)
        ws = xp.arange(n_windows, dtype=xp.int64) * segs
        wins = self._reduce_groups(red, ws, ws + segs, group)
        total = self._empty(JAC_WORDS[group])
        eng.launch(f"msm_window_combine_g{group}", 1, wins, n_windows, c, total)
        aff = self._empty(AFF_WORDS[group])
        eng.launch(f"jac_to_affine_g{group}", 1, total, aff)
        vals_out = limbs_to_ints(eng.download(aff).reshape(-1, 4))
        self.stats.last[f"msm_g{group}"] = time.perf_counter() - t0
        if all(v == 0 for v in vals_out):
            return None
        return vals_out

    # --- fixed-base batch multiplication -------------------------------------------------------------
    def fixed_base_mul_g1(self, base: G1Point, scalars: np.ndarray) -> np.ndarray:
        sc = _as_limbs(scalars, (4,), "scalars")
        _check_g1(base)
        if base is None or sc.shape[0] == 0:
            return np.zeros((sc.shape[0], 2, 4), dtype=np.uint64)
        out = self._fixed_base(ints_to_limbs([base[0], base[1]]), sc, 1)
        return out.reshape(-1, 2, 4)

    def fixed_base_mul_g2(self, base: G2Point, scalars: np.ndarray) -> np.ndarray:
        sc = _as_limbs(scalars, (4,), "scalars")
        _check_g2(base)
        if base is None or sc.shape[0] == 0:
            return np.zeros((sc.shape[0], 2, 2, 4), dtype=np.uint64)
        (x0, x1), (y0, y1) = base
        out = self._fixed_base(ints_to_limbs([x0, x1, y0, y1]), sc, 2)
        return out.reshape(-1, 2, 2, 4)

    def _fixed_base(self, base_limbs: np.ndarray, sc: np.ndarray, group: int) -> np.ndarray:
        eng = self.engine
        t0 = time.perf_counter()
        b = eng.upload(base_limbs.reshape(-1))
        eng.launch("fq_to_mont", base_limbs.shape[0], b, b)
        table = self._empty(FB_WINDOWS * FB_DIGITS * JAC_WORDS[group])
        eng.launch(f"fb_table_g{group}", FB_WINDOWS * FB_DIGITS, b, table)
        n = sc.shape[0]
        out = self._empty(n * AFF_WORDS[group])
        d_sc = eng.upload(sc.reshape(-1))
        eng.launch(f"fb_mul_g{group}", n, table, d_sc, out)
        res = eng.download(out)
        self.stats.last[f"fixed_base_g{group}"] = time.perf_counter() - t0
        return res

    # --- NTT ------------------------------------------------------------------------------------------
    def _log2(self, n: int) -> int:
        k = n.bit_length() - 1
        if n <= 0 or (1 << k) != n or k > FR_TWO_ADICITY:
            raise ProverError(f"NTT size {n} is not a power of two <= 2^{FR_TWO_ADICITY}")
        return k

    def _tw(self, n: int, inverse: bool) -> Any:
        key = (n, inverse)
        if key not in self._twiddles:
            w = fr_root_of_unity(n)
            if inverse:
                w = pow(w, -1, R)
            tw = self._empty(max(n // 2, 1) * 4)
            self.engine.launch("fr_powers", n // 2, self._const(w), tw)
            self._twiddles[key] = tw
        return self._twiddles[key]

    def _upload_fr(self, values: np.ndarray, what: str) -> tuple[Any, int]:
        v = _as_limbs(values, (4,), what)
        d = self.engine.upload(v.reshape(-1))
        self.engine.launch("fr_to_mont", v.shape[0], d, d)
        return d, v.shape[0]

    def _download_fr(self, d: Any, n: int) -> np.ndarray:
        self.engine.launch("fr_from_mont", n, d, d)
        return self.engine.download(d).reshape(n, 4)

    def _ntt_dev(self, v: Any, n: int, inverse: bool) -> Any:
        """Bit reversal + log n radix-2 stages on a Montgomery device vector (no scaling)."""
        log_n = self._log2(n)
        out = self._empty(n * 4)
        self.engine.launch("fr_bitrev", n, v, out, log_n)
        tw = self._tw(n, inverse)
        for log_m in range(log_n):
            self.engine.launch("fr_ntt_stage", n // 2, out, tw, log_m, log_n)
        return out

    def ntt(self, values: np.ndarray, inverse: bool = False, coset: bool = False) -> np.ndarray:
        t0 = time.perf_counter()
        d, n = self._upload_fr(values, "NTT input")
        self._log2(n)
        g = fr_root_of_unity(2 * n) if coset else 1
        if not inverse:
            if coset:
                self.engine.launch("fr_scale_pow", n, d, self._const(g), self._const(1))
            out = self._ntt_dev(d, n, False)
        else:
            out = self._ntt_dev(d, n, True)
            # 1/n of the inverse transform and the coset's g^-i, one pass
            self.engine.launch("fr_scale_pow", n, out, self._const(pow(g, -1, R)), self._const(pow(n, -1, R)))
        res = self._download_fr(out, n)
        self.stats.last["ntt"] = time.perf_counter() - t0
        return res

    def _h_dev(self, rows: list[Any], n: int) -> Any:
        """d_j = A·B − C at the odd points of the 2n-domain from Montgomery device vectors a, b, c
        over the n-domain; Montgomery device result."""
        g = fr_root_of_unity(2 * n)
        coset_evals = []
        for d in rows:
            coeffs = self._ntt_dev(d, n, True)
            # iNTT's 1/n and the coset shift g^i fused: coefficients p_i -> p_i g^i / n
            self.engine.launch("fr_scale_pow", n, coeffs, self._const(g), self._const(pow(n, -1, R)))
            coset_evals.append(self._ntt_dev(coeffs, n, False))
        out = self._empty(n * 4)
        self.engine.launch("fr_h_combine", n, coset_evals[0], coset_evals[1], coset_evals[2], out)
        return out

    def compute_h(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        n = _as_limbs(a, (4,), "compute_h a").shape[0]
        if _as_limbs(b, (4,), "compute_h b").shape[0] != n or _as_limbs(c, (4,), "compute_h c").shape[0] != n:
            raise ProverError("compute_h: a, b and c must have the same length")
        self._log2(n)
        rows = [self._upload_fr(vec, f"compute_h {what}")[0] for vec, what in ((a, "a"), (b, "b"), (c, "c"))]
        res = self._download_fr(self._h_dev(rows, n), n)
        self.stats.last["compute_h"] = time.perf_counter() - t0
        return res

    # --- resident proving: witness, QAP and h stay on the device (base.py `resident_qap`) ---------------
    def load_witness(self, w: np.ndarray) -> GpuScalars:
        """Upload (n, 4) canonical scalars once; every msm_* of the proof reads this copy."""
        v = _as_limbs(w, (4,), "witness")
        return GpuScalars(self.engine.upload(v.reshape(-1)), v.shape[0])

    def scalars_tail(self, scalars: Any, start: int) -> Any:
        if isinstance(scalars, GpuScalars):
            if not 0 <= start <= scalars.n:
                raise ProverError(f"scalars_tail: start {start} outside 0..{scalars.n}")
            return GpuScalars(scalars.data[4 * start :], scalars.n - start)  # a view: no copy
        return super().scalars_tail(scalars, start)

    def prepare_qap(self, row_ptr: np.ndarray, wires: np.ndarray, coefs: np.ndarray, domain: int, n_check: int) -> GpuQap:
        """Upload a key's QAP coefficients (CSR by row, see base.py) once; kept like the bases."""
        self._log2(domain)
        rp = np.ascontiguousarray(row_ptr, dtype=np.int64)
        wi = np.asarray(wires)
        co = _as_limbs(coefs, (4,), "QAP coefficients")
        nnz = co.shape[0]
        if rp.shape != (3 * domain + 1,) or rp[0] != 0 or rp[-1] != nnz or (rp.size > 1 and (np.diff(rp) < 0).any()):
            raise ProverError(f"QAP row_ptr must be {3 * domain + 1} non-decreasing offsets from 0 to {nnz}")
        if wi.shape != (nnz,) or wi.dtype.kind not in "iu" or (nnz and (wi.min() < 0 or wi.max() >= 1 << 32)):
            raise ProverError(f"QAP wires must be {nnz} non-negative integers below 2^32")
        if not 0 <= n_check <= domain:
            raise ProverError(f"QAP n_check {n_check} outside 0..{domain}")
        _check_below(co, R, "QAP coefficients")
        eng = self.engine
        d_co = eng.upload(co.reshape(-1))
        eng.launch("fr_to_mont", nnz, d_co, d_co)
        eng.synchronize()  # the prover's "prepare" stage times the work, not just the launch
        return GpuQap(
            row_ptr=eng.upload(rp),
            wires=eng.upload(np.ascontiguousarray(wi, dtype=np.uint32)),
            coefs=d_co,
            domain=domain,
            n_check=int(n_check),
            min_wires=int(wi.max()) + 1 if nnz else 0,
        )

    def evaluate_qap(self, qap: Any, witness: Any) -> tuple[GpuQapRows, int]:
        """A, B, C rows for a resident witness and the first row < n_check with A*B != C (-1: none);
        the C kept for h is A*B (snarkjs's convention, equal to C wherever the check passed)."""
        if not isinstance(qap, GpuQap) or not isinstance(witness, GpuScalars):
            raise ProverError("evaluate_qap needs a prepare_qap handle and a load_witness handle of this backend")
        if witness.n < qap.min_wires:
            raise ProverError(f"the QAP uses wire {qap.min_wires - 1} but the witness has {witness.n} values")
        eng, xp, n = self.engine, self.xp, qap.domain
        t0 = time.perf_counter()
        wm = self._empty(4 * witness.n)
        eng.launch("fr_to_mont", witness.n, witness.data, wm)
        abc = self._empty(12 * n)
        eng.launch("qap_rows", 3 * n, qap.row_ptr, qap.wires, qap.coefs, wm, abc)
        del wm
        bad = xp.full(1, qap.n_check, dtype=xp.uint64)  # n_check: no bad row (the kernel keeps the minimum)
        eng.launch("qap_check", qap.n_check, abc, n, bad)
        eng.launch("fr_mul_vec", n, abc[: 4 * n], abc[4 * n : 8 * n], abc[8 * n :])
        first = eng.to_int(bad[0])
        self.stats.last["evaluate_qap"] = time.perf_counter() - t0
        return GpuQapRows(abc, n), (-1 if first >= qap.n_check else first)

    def h_resident(self, rows: Any) -> GpuScalars:
        """compute_h on evaluate_qap's rows, left on the device (canonical) for the H MSM."""
        if not isinstance(rows, GpuQapRows):
            raise ProverError("h_resident needs the rows evaluate_qap returned")
        t0 = time.perf_counter()
        n = rows.domain
        d = self._h_dev([rows.abc[4 * i * n : 4 * (i + 1) * n] for i in range(3)], n)
        self.engine.launch("fr_from_mont", n, d, d)
        # launches return at once on a GPU: without this the prover's "h" stage (and stats) would time
        # only the launches, and h's work would show up in msm_a's time
        self.engine.synchronize()
        self.stats.last["h_resident"] = time.perf_counter() - t0
        return GpuScalars(d, n)

    def qap_rows_to_host(self, rows: GpuQapRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, c) canonical (n, 4) arrays of evaluate_qap's rows (tests and debugging)."""
        n = rows.domain
        tmp = self._empty(12 * n)
        self.engine.launch("fr_from_mont", 3 * n, rows.abc, tmp)
        out = self.engine.download(tmp).reshape(3, n, 4)
        return out[0], out[1], out[2]

    def scalars_to_host(self, scalars: GpuScalars) -> np.ndarray:
        """The (n, 4) canonical values of a resident scalar vector (tests and debugging)."""
        return self.engine.download(scalars.data).reshape(scalars.n, 4)

    def batch_inverse(self, values: np.ndarray) -> np.ndarray:
        d, n = self._upload_fr(values, "batch_inverse input")
        self.engine.launch("fr_inv_vec", n, d, d)
        return self._download_fr(d, n)


# ------------------------------------------------------------------------------------------------
# `python -m relayer.zk.backends.gpu build-cubin DIR`: prebuild the device binary with nvcc so a
# device run skips NVRTC (the backend loads DIR/<cubin_name()> when RELAYER_GPU_CUBIN_DIR=DIR).
# ------------------------------------------------------------------------------------------------


def build_cubin(out_dir: str | os.PathLike[str], nvcc: str = "nvcc") -> Path:
    exe = shutil.which(nvcc)
    if exe is None:
        raise ToolError("nvcc not found: install the CUDA toolkit or let the backend compile with NVRTC")
    out = Path(out_dir) / cubin_name()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gpu_kernels_all.cu"
        src.write_text(kernel_source())
        proc = subprocess.run(
            [exe, "-std=c++17", "-O3", "-arch=sm_90", "-cubin", "-o", str(out), str(src)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise ToolError(f"nvcc failed on gpu_kernels.cu:\n{proc.stderr[-4000:]}")
    return out


if __name__ == "__main__":  # pragma: no cover - build helper
    if len(sys.argv) == 3 and sys.argv[1] == "build-cubin":
        print(build_cubin(sys.argv[2]))
    elif len(sys.argv) == 2 and sys.argv[1] == "cubin-name":
        print(cubin_name())
    else:
        print("usage: python -m relayer.zk.backends.gpu build-cubin DIR | cubin-name", file=sys.stderr)
        sys.exit(2)
