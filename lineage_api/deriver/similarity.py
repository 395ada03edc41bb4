"""Similarity of code: MinHash/LSH candidate search, exact ratio, semver bump, transformation type."""

from __future__ import annotations

import difflib
import re

import numpy as np
from datasketch import MinHash as MinHash  # re-exported: the deriver annotates with similarity.MinHash
from datasketch import MinHashLSH

NUM_PERM = 128
SCHEME = "affine32"  # datasketch's hash scheme, pinned so stored signatures stay comparable
LSH_THRESHOLD = 0.5  # Jaccard of token 3-shingles at which LSH proposes a candidate
DERIVED_MIN_RATIO = 0.5  # a candidate becomes a derived_from parent at this sequence similarity
SHINGLE = 3
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|\S")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def tokens(normalized: str) -> list[str]:
    return _TOKEN.findall(normalized)


def minhash(normalized: str) -> MinHash:
    toks = tokens(normalized)
    shingles = {" ".join(toks[i : i + SHINGLE]) for i in range(max(len(toks) - SHINGLE + 1, 1))}
    m = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    m.update_batch([s.encode("utf-8") for s in shingles])
    return m


def to_bytes(m: MinHash) -> bytes:
    return np.asarray(m.hashvalues, dtype=np.uint32).tobytes()


def from_bytes(data: bytes) -> MinHash:
    return MinHash(num_perm=NUM_PERM, scheme=SCHEME, hashvalues=np.frombuffer(data, dtype=np.uint32).copy())


class SimilarityIndex:
    """LSH over MinHash signatures: candidate lookups without comparing all pairs."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._files: dict[str, str | None] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._files

    def __len__(self) -> int:
        return len(self._files)

    def add(self, key: str, signature: MinHash, file_path: str | None) -> None:
        if key not in self._files:
            self._lsh.insert(key, signature)
            self._files[key] = file_path

    def candidates(self, signature: MinHash, *, exclude_file: str | None) -> list[str]:
        """Keys of similar entries written in another file than ``exclude_file``."""
        return [k for k in self._lsh.query(signature) if self._files.get(k) != exclude_file]


CHAR_RATIO_MAX_LEN = 20_000  # above this, compare lines: character matching is quadratic


def ratio(a: str, b: str) -> float:
    """Sequence similarity in [0, 1] of two normalized texts (by character, by line when large)."""
    if max(len(a), len(b)) <= CHAR_RATIO_MAX_LEN:
        return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return difflib.SequenceMatcher(None, a.splitlines(), b.splitlines()).ratio()


def bump_level(similarity: float) -> str:
    """>= 0.90 patch, >= 0.70 minor, else major (a near-identical edit is a patch)."""
    if similarity >= 0.90:
        return "patch"
    if similarity >= 0.70:
        return "minor"
    return "major"


def parse_semver(version: str) -> tuple[int, int, int]:
    parts = ([*version.split("-", 1)[0].split("."), "0", "0", "0"])[:3]
    try:
        return int(parts[0]), int(parts[1]), int(parts[2])
    except ValueError:
        return 0, 0, 0


def bump(latest: str, level: str) -> str:
    major, minor, patch = parse_semver(latest)
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def transformation_type(old: str, new: str, similarity: float) -> str:
    """A heuristic label for how ``new`` (normalized) differs from ``old``.

    Identifiers renamed only -> refactor; a quarter shorter -> simplification; a quarter longer ->
    enhancement; a small change (similarity >= 0.9) -> bugfix; otherwise refactor.
    """
    old_toks, new_toks = tokens(old), tokens(new)
    if [_shape(t) for t in old_toks] == [_shape(t) for t in new_toks]:
        return "refactor"
    if len(new_toks) < 0.75 * len(old_toks):
        return "simplification"
    if len(new_toks) > 1.25 * len(old_toks):
        return "enhancement"
    if similarity >= 0.9:
        return "bugfix"
    return "refactor"


def _shape(token: str) -> str:
    return "ID" if _IDENT.fullmatch(token) else token
