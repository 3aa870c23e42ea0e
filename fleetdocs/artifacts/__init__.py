"""Content-addressed artifacts: NAR archives, Nix closures, materialization and retention.

Pure code: no network and no iroh. The net layer stores and fetches the blob files this
package stages (by BLAKE3 hash) and hands their local paths back for materialization.
"""
