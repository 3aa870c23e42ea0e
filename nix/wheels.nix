# Binary wheels of the two dependencies nixpkgs does not package at the pinned versions.
# Both are Rust extensions published on PyPI only as manylinux wheels; they are fetched by
# hash from PyPI with fetchPypi (format = "wheel") and patched with autoPatchelfHook.
# The automerge wheel is CPython-3.11-specific, so fleetdocs is built with python311.
# To add a system: `pip download --no-deps --platform <tag> --only-binary=:all: iroh==0.35.0`,
# then `nix hash to-sri --type sha256 $(sha256sum <wheel> | cut -d' ' -f1)`.
{
  iroh = {
    version = "0.35.0";
    x86_64-linux = {
      dist = "py3";
      python = "py3";
      abi = "none";
      platform = "manylinux_2_28_x86_64";
      hash = "sha256-lGV7YGzxr/KEjNlxafM56hRQlc34nmr/Is+5yGjMqEY=";
    };
  };
  automerge = {
    version = "0.2.0.dev4";
    x86_64-linux = {
      dist = "cp311";
      python = "cp311";
      abi = "cp311";
      platform = "manylinux_2_17_x86_64.manylinux2014_x86_64";
      hash = "sha256-2zY2bVLY3TW183P5nqphEO3kI6SQu/saGlNlTSp4y6w=";
    };
  };
}
