"""circom/snarkjs binary formats: the iden3 section container, `.r1cs` and `.wtns` (and circom's `.sym`)."""

from relayer.zk.formats.r1cs_file import R1csFile, r1cs_to_bytes, read_r1cs, read_r1cs_file, read_sym, write_r1cs
from relayer.zk.formats.wtns_file import read_wtns, write_wtns, wtns_to_bytes

__all__ = [
    "R1csFile",
    "read_r1cs",
    "read_r1cs_file",
    "read_sym",
    "r1cs_to_bytes",
    "write_r1cs",
    "read_wtns",
    "write_wtns",
    "wtns_to_bytes",
]
