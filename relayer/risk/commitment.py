"""Market-data commitment: the Poseidon value that binds the marks and risk arrays a proof used.

Anyone recomputes it from public market data (docs/solvency.md §Market commitment):
  values = marks[0..K) ++ (R[k][s] + 2^40 for k in 0..K, s in 0..S)   each < 2^41
  words  = values packed 6 per field element, little-endian, 41 bits each (246 bits < r)
  h = Poseidon(TAG, K, S); for each chunk of up to 15 words: h = Poseidon(h, *chunk)
"""

from __future__ import annotations

from collections.abc import Sequence

from relayer.risk.units import MARK_BITS, RISK_BITS, RISK_OFFSET, in_signed_range
from relayer.zk.poseidon import poseidon

PACK_BITS = RISK_BITS + 1  # 41: holds a mark (< 2^40) and an offset risk entry (< 2^41)
PER_WORD = 6  # 6 * 41 = 246 bits < 253: a packed word never wraps mod r
CHUNK = 15  # words absorbed per Poseidon call (plus the chaining value: 16 inputs, the maximum)
TAG = int.from_bytes(b"relayer.market.v1", "big")

assert MARK_BITS < PACK_BITS


def market_values(marks: Sequence[int], risk: Sequence[Sequence[int]]) -> list[int]:
    """The committed values in order, risk entries in offset form. Raises ValueError out of range."""
    out: list[int] = []
    for k, m in enumerate(marks):
        if not 0 <= m < 1 << MARK_BITS:
            raise ValueError(f"mark {k} = {m} outside [0, 2^{MARK_BITS})")
        out.append(m)
    for k, row in enumerate(risk):
        for s, r in enumerate(row):
            if not in_signed_range(r, RISK_BITS):
                raise ValueError(f"risk[{k}][{s}] = {r} outside [-2^{RISK_BITS}, 2^{RISK_BITS})")
            out.append(r + RISK_OFFSET)
    return out


def pack_words(values: Sequence[int]) -> list[int]:
    words = []
    for i in range(0, len(values), PER_WORD):
        w = 0
        for j, v in enumerate(values[i:i + PER_WORD]):
            w |= v << (PACK_BITS * j)
        words.append(w)
    return words


def chain_hash(k: int, s: int, words: Sequence[int]) -> int:
    h = poseidon([TAG, k, s])
    for i in range(0, len(words), CHUNK):
        h = poseidon([h, *words[i:i + CHUNK]])
    return h


def market_commitment(marks: Sequence[int], risk: Sequence[Sequence[int]]) -> int:
    k = len(marks)
    if len(risk) != k:
        raise ValueError(f"{k} marks but {len(risk)} risk rows")
    s = len(risk[0]) if risk else 0
    if any(len(row) != s for row in risk):
        raise ValueError("risk rows differ in length")
    return chain_hash(k, s, pack_words(market_values(marks, risk)))


__all__ = ["market_commitment", "market_values", "pack_words", "chain_hash", "PACK_BITS", "PER_WORD", "CHUNK", "TAG"]
