"""Unsigned LEB128, the variable-length integer of both postcard (iroh tickets) and Automerge."""

from __future__ import annotations


def encode_uleb128(number: int) -> bytes:
    if number < 0:
        raise ValueError("LEB128 here is unsigned")
    out = bytearray()
    while True:
        low = number & 0x7F
        number >>= 7
        if number:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)
