"""Read a TensorFlow (v1) checkpoint with numpy alone.

A checkpoint is a path prefix ``P``: ``P.index`` is a TensorBundle table (LevelDB's SSTable
layout: data blocks of prefix-compressed key/value entries, an index block and a 48-byte
footer) mapping each tensor's name to a ``BundleEntryProto`` (dtype, shape, shard, offset,
size), and ``P.data-00000-of-00001`` holds the raw little-endian tensors. musicnn's checkpoints
are single-shard, uncompressed and unsliced; anything else is refused rather than misread.

This is what lets the product use musicnn's pretrained weights without TensorFlow: the
converter (``convert``) reads them here once and stores safetensors.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_BYTES = 48
_BLOCK_TRAILER_BYTES = 5  # compression type (1 byte) + crc32c (4 bytes)
# TensorFlow DataType enum values -> numpy dtypes (the ones a model checkpoint holds).
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}


class CheckpointError(ValueError):
    """The checkpoint is missing, damaged, or uses a feature this reader does not support."""


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every tensor in the checkpoint at ``prefix``, by its TensorFlow variable name."""
    prefix = str(prefix)
    try:
        index = Path(prefix + ".index").read_bytes()
        data = Path(prefix + ".data-00000-of-00001").read_bytes()
    except OSError as error:
        raise CheckpointError(f"cannot read the checkpoint at {prefix!r}: {error}") from error

    tensors = {}
    for name, entry in _table_entries(index):
        if name == b"":  # the BundleHeaderProto
            continue
        fields = _protobuf_fields(entry)
        if fields.get(3, 0) != 0 or 7 in fields:
            raise CheckpointError(f"tensor {name!r} is sharded or sliced; not supported")
        dtype = _DTYPES.get(fields.get(1, 0))
        if dtype is None:
            raise CheckpointError(f"tensor {name!r} has unsupported dtype {fields.get(1)}")
        shape = _tensor_shape(fields.get(2, b""))
        offset, size = fields.get(4, 0), fields.get(5, 0)
        if offset + size > len(data):
            raise CheckpointError(f"tensor {name!r} lies past the end of the data file")
        array = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"), count=-1,
                              offset=offset) if size else np.zeros(0, dtype)  # fmt: skip
        array = array[: int(np.prod(shape, dtype=np.int64))] if size else array
        if array.nbytes != size:
            raise CheckpointError(f"tensor {name!r}: {size} bytes do not hold shape {shape}")
        tensors[name.decode()] = array.reshape(shape).astype(dtype, copy=True)
    return tensors


def _table_entries(table: bytes):
    if len(table) < _FOOTER_BYTES:
        raise CheckpointError("the .index file is too short to be a TensorBundle table")
    footer = table[-_FOOTER_BYTES:]
    if struct.unpack("<Q", footer[-8:])[0] != _TABLE_MAGIC:
        raise CheckpointError("the .index file is not a TensorBundle table (bad magic number)")
    _metaindex_offset, position = _varint(footer, 0)
    _metaindex_size, position = _varint(footer, position)
    index_offset, position = _varint(footer, position)
    index_size, _ = _varint(footer, position)
    for _, handle in _block_entries(_block(table, index_offset, index_size)):
        block_offset, position = _varint(handle, 0)
        block_size, _ = _varint(handle, position)
        yield from _block_entries(_block(table, block_offset, block_size))


def _block(table: bytes, offset: int, size: int) -> bytes:
    if offset + size + _BLOCK_TRAILER_BYTES > len(table):
        raise CheckpointError("a block of the .index file lies past its end")
    if table[offset + size] != 0:
        raise CheckpointError("compressed TensorBundle blocks are not supported")
    return table[offset : offset + size]


def _block_entries(block: bytes):
    """Key/value pairs of one block; keys share a prefix with the previous key."""
    n_restarts = struct.unpack("<I", block[-4:])[0]
    end = len(block) - 4 * (n_restarts + 1)
    position, key = 0, b""
    while position < end:
        shared, position = _varint(block, position)
        unshared, position = _varint(block, position)
        value_size, position = _varint(block, position)
        key = key[:shared] + block[position : position + unshared]
        position += unshared
        yield key, block[position : position + value_size]
        position += value_size


def _protobuf_fields(message: bytes) -> dict[int, int | bytes]:
    """Field number -> value for the scalar and length-delimited fields of a message."""
    fields: dict[int, int | bytes] = {}
    position = 0
    while position < len(message):
        tag, position = _varint(message, position)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            fields[number], position = _varint(message, position)
        elif wire_type == 2:
            size, position = _varint(message, position)
            value = message[position : position + size]
            # Repeated message fields (a shape's dims) are kept together, in order.
            previous = fields.get(number)
            fields[number] = value if previous is None else [*_as_list(previous), value]
            position += size
        elif wire_type == 5:
            fields[number] = struct.unpack("<I", message[position : position + 4])[0]
            position += 4
        elif wire_type == 1:
            fields[number] = struct.unpack("<Q", message[position : position + 8])[0]
            position += 8
        else:
            raise CheckpointError(f"unexpected protobuf wire type {wire_type}")
    return fields


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _tensor_shape(shape_proto: bytes) -> tuple[int, ...]:
    dims = _protobuf_fields(shape_proto).get(2, [])
    return tuple(_protobuf_fields(dim).get(1, 0) for dim in _as_list(dims) if dims != [])


def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
