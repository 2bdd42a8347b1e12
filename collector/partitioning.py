"""Key -> partition exactly as the Java client and kafka-python/aiokafka default partitioners do.

The libraries' murmur2 is a byte-at-a-time Python loop (~8 us for a UUID key); the collector hashes
every event's key, so this reads the 4-byte words in one ``struct`` call and memoises recent keys
(one visitor's events share a key, and visitors come back).
"""

from __future__ import annotations

import struct
from functools import lru_cache

__all__ = ["murmur2", "partition_index"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 of ``data`` as an unsigned 32-bit int (what kafka-python and aiokafka return)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    base = length & ~3
    if tail >= 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


@lru_cache(maxsize=1 << 16)
def partition_index(key: bytes, partitions: int) -> int:
    """Index into the sorted partition list, as ``DefaultPartitioner`` picks it for a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
