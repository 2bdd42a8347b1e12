"""The collector's partitioner must place every key where kafka-python and aiokafka would."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from collector.partitioning import murmur2, partition_index


def test_murmur2_matches_kafka_python_for_every_tail_length() -> None:
    rng = random.Random(7)
    for length in range(0, 70):
        for _ in range(25):
            data = bytes(rng.randrange(256) for _ in range(length))
            assert murmur2(data) == kafka_python_murmur2(data), data


def test_partition_index_matches_the_default_partitioner() -> None:
    partitions = list(range(6))
    for key in [b"a-1", b"acme.com", b"6f1d3c52-7a8e-4b0e-9d7c-2a5e0c1b9f43", b"\xff\xfe", b""]:
        expected = DefaultPartitioner()(key, partitions, partitions)
        assert partitions[partition_index(key, len(partitions))] == expected
