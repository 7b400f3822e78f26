"""Reads and writes safetensors files byte by byte, for crafting test inputs."""
import json
import struct


def read(path):
    """Returns (header dict, data bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write(path, header, data, header_len=None):
    """Writes header + data; header_len overrides the length field (to corrupt it)."""
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) if header_len is None else header_len))
        f.write(text)
        f.write(data)


def split(header, data, names_a):
    """Splits one checkpoint into two shards: (header_a, data_a, header_b, data_b)."""
    shards = ({}, bytearray()), ({}, bytearray())
    for name, info in header.items():
        if name == "__metadata__":
            continue
        h, d = shards[0] if name in names_a else shards[1]
        begin, end = info["data_offsets"]
        h[name] = dict(info, data_offsets=[len(d), len(d) + end - begin])
        d += data[begin:end]
    return shards[0][0], bytes(shards[0][1]), shards[1][0], bytes(shards[1][1])
