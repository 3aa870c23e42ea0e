"""The entry-content cache: content-addressed, so it may only ever return what was put."""

import blake3
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.net.node import ContentCache, content_matches

_puts = st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 40)), max_size=30)


def content(name: str, size: int) -> bytes:
    """Distinct bytes per (name, size), as distinct contents have distinct hashes."""
    return f"{name}{size}".encode() * size


@given(puts=_puts, limit=st.integers(0, 100))
def test_the_cache_returns_only_what_was_put_and_stays_within_its_limit(
    puts: list[tuple[str, int]], limit: int
) -> None:
    cache = ContentCache(limit)
    for name, size in puts:
        cache.put(f"{name}{size}", content(name, size))
        assert cache.size <= limit
        assert cache.size == sum(len(content(n, s)) for n, s in set(puts)
                                 if cache.get(f"{n}{s}") is not None)
    for name, size in puts:
        found = cache.get(f"{name}{size}")
        assert found is None or found == content(name, size)
    fitting = [(name, size) for name, size in puts if len(content(name, size)) <= limit]
    if fitting:
        assert cache.get("{}{}".format(*fitting[-1])) is not None, "the newest fitting stays"


def test_the_least_recently_used_content_is_dropped_first() -> None:
    cache = ContentCache(limit=10)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    assert cache.get("a") == b"12345"  # now "b" is the least recently used
    cache.put("c", b"12345")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"12345", None, b"12345")
    assert cache.size == 10


@given(whole=st.binary(max_size=2048), cut=st.integers(0, 2048), flip=st.integers(0, 2047))
def test_only_the_whole_content_matches_its_hash(whole: bytes, cut: int, flip: int) -> None:
    """A read of a blob still arriving (shorter, or zeros where bytes are missing) is refused."""
    name = blake3.blake3(whole).hexdigest()
    assert content_matches(whole, name)
    if cut < len(whole):
        assert not content_matches(whole[:cut], name)
    if whole:
        damaged = bytearray(whole)
        damaged[flip % len(whole)] ^= 0xFF
        assert not content_matches(bytes(damaged), name)
