"""Nix's base32 alphabet and the `sha256:<nix32>` narHash notation.

Nix prints NAR hashes (`nix-store -q --hash`) in its own base32: a custom alphabet without
`e o u t`, and the digits emitted from the most significant 5-bit group of the little-endian
hash. The manifest uses exactly that notation so an operator can compare it with nix's output.
"""

from __future__ import annotations

from fleetdocs.artifacts.errors import NixHashError

NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_DIGIT_VALUE = {char: value for value, char in enumerate(NIX32_ALPHABET)}
SHA256_SIZE = 32
SHA256_PREFIX = "sha256:"


def nix32_length(byte_count: int) -> int:
    """Number of base32 digits Nix uses for a hash of `byte_count` bytes."""
    return (byte_count * 8 - 1) // 5 + 1


def encode_nix32(digest: bytes) -> str:
    """Encode `digest` the way Nix's `printHash32` does."""
    digits = []
    for position in reversed(range(nix32_length(len(digest)))):
        bit = position * 5
        index, shift = divmod(bit, 8)
        value = digest[index] >> shift
        if index + 1 < len(digest):
            value |= digest[index + 1] << (8 - shift)
        digits.append(NIX32_ALPHABET[value & 0x1F])
    return "".join(digits)


def decode_nix32(text: str, byte_count: int) -> bytes:
    """Decode a Nix base32 string of a `byte_count`-byte hash, rejecting any non-canonical form."""
    if len(text) != nix32_length(byte_count):
        raise NixHashError(f"nix32 hash has {len(text)} digits, expected {nix32_length(byte_count)}")
    digest = bytearray(byte_count)
    for offset, char in enumerate(text):
        value = _DIGIT_VALUE.get(char)
        if value is None:
            raise NixHashError(f"invalid nix32 digit {char!r}")
        bit = (len(text) - offset - 1) * 5
        index, shift = divmod(bit, 8)
        digest[index] |= (value << shift) & 0xFF
        carry = value >> (8 - shift)
        if index + 1 < byte_count:
            digest[index + 1] |= carry
        elif carry:
            raise NixHashError("nix32 hash has bits beyond its length")
    return bytes(digest)


def format_nar_hash(sha256_digest: bytes) -> str:
    """`sha256:<nix32>`, as `nix-store -q --hash` prints it."""
    if len(sha256_digest) != SHA256_SIZE:
        raise NixHashError(f"sha256 digest must be {SHA256_SIZE} bytes, got {len(sha256_digest)}")
    return SHA256_PREFIX + encode_nix32(sha256_digest)


def parse_nar_hash(text: str) -> bytes:
    """The raw sha256 digest from `sha256:<nix32>`; the only accepted spelling in manifests."""
    if not text.startswith(SHA256_PREFIX):
        raise NixHashError(f"narHash {text!r} must start with {SHA256_PREFIX!r}")
    return decode_nix32(text[len(SHA256_PREFIX) :], SHA256_SIZE)


def nar_hash_from_base16(text: str) -> str:
    """Convert the bare base16 sha256 of `nix-store --dump-db` into `sha256:<nix32>`."""
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        raise NixHashError(f"invalid base16 sha256 {text!r}") from None
    return format_nar_hash(digest)
