"""Decoders for the primitive encodings of Automerge's binary format.

fleetdocs must look inside a change before the binding does (the binding panics on counters, see
docs/metadata.md), so it decodes the columnar op encoding itself. Only decoding is implemented:
fleetdocs never re-encodes a change, because any difference from the canonical encoder would
change the change's hash.
"""

import zlib
from collections.abc import Callable
from typing import TypeVar

from fleetdocs.meta.errors import MalformedChangeError

T = TypeVar("T")

MAX_ROWS = 1 << 18
"""Upper bound on decoded rows, so a tiny run-length header cannot expand into huge lists."""

MAX_INFLATED_BYTES = 1 << 20
"""Upper bound on inflated deflate data, so a small chunk cannot inflate into a memory bomb."""

_MAX_LEB_BYTES = 10


class Reader:
    """A cursor over bytes whose every read fails with MalformedChangeError when truncated."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def rest(self) -> bytes:
        return self._data[self._pos :]

    def take(self, length: int) -> bytes:
        if length < 0 or self._pos + length > len(self._data):
            raise MalformedChangeError(f"truncated {self._what}")
        chunk = self._data[self._pos : self._pos + length]
        self._pos += length
        return chunk

    def uleb(self) -> int:
        result = 0
        for index in range(_MAX_LEB_BYTES):
            byte = self.take(1)[0]
            result |= (byte & 0x7F) << (7 * index)
            if not byte & 0x80:
                return result
        raise MalformedChangeError(f"over-long LEB128 number in {self._what}")

    def sleb(self) -> int:
        result = 0
        for index in range(_MAX_LEB_BYTES):
            byte = self.take(1)[0]
            result |= (byte & 0x7F) << (7 * index)
            if not byte & 0x80:
                if byte & 0x40:
                    result -= 1 << (7 * (index + 1))
                return result
        raise MalformedChangeError(f"over-long LEB128 number in {self._what}")

    def prefixed_bytes(self) -> bytes:
        return self.take(self.uleb())

    def prefixed_str(self) -> str:
        raw = self.prefixed_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedChangeError(f"invalid UTF-8 in {self._what}") from error


def inflate(data: bytes, what: str) -> bytes:
    """Inflate raw deflate data, refusing output beyond MAX_INFLATED_BYTES."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES)
    except zlib.error as error:
        raise MalformedChangeError(f"corrupt deflate data in {what}") from error
    if inflater.unconsumed_tail:
        raise MalformedChangeError(f"{what} inflates beyond {MAX_INFLATED_BYTES} bytes")
    if not inflater.eof:
        raise MalformedChangeError(f"truncated deflate data in {what}")
    return out


def _check_rows(count: int, what: str) -> None:
    if count > MAX_ROWS:
        raise MalformedChangeError(f"{what} claims more than {MAX_ROWS} rows")


def decode_rle(data: bytes, read_value: Callable[[Reader], T], what: str) -> list[T | None]:
    """Decode a run-length column: repeated runs, literal runs, and null runs."""
    reader = Reader(data, what)
    rows: list[T | None] = []
    while not reader.at_end():
        run = reader.sleb()
        if run > 0:
            _check_rows(len(rows) + run, what)
            rows.extend([read_value(reader)] * run)
        elif run < 0:
            _check_rows(len(rows) - run, what)
            rows.extend(read_value(reader) for _ in range(-run))
        else:
            nulls = reader.uleb()
            _check_rows(len(rows) + nulls, what)
            rows.extend([None] * nulls)
    return rows


def decode_uint_column(data: bytes, what: str) -> list[int | None]:
    return decode_rle(data, Reader.uleb, what)


def decode_str_column(data: bytes, what: str) -> list[str | None]:
    return decode_rle(data, Reader.prefixed_str, what)


def decode_delta_column(data: bytes, what: str) -> list[int | None]:
    """Decode a delta column: run-length signed differences, summed from zero."""
    total = 0
    rows: list[int | None] = []
    for delta in decode_rle(data, Reader.sleb, what):
        if delta is None:
            rows.append(None)
        else:
            total += delta
            rows.append(total)
    return rows


def decode_bool_column(data: bytes, what: str) -> list[bool]:
    """Decode a boolean column: alternating run lengths, starting with a run of False."""
    reader = Reader(data, what)
    rows: list[bool] = []
    value = False
    while not reader.at_end():
        run = reader.uleb()
        _check_rows(len(rows) + run, what)
        rows.extend([value] * run)
        value = not value
    return rows
