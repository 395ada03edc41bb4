"""The git context of a directory, read from ``.git`` files (no ``git`` process: the hook's budget is ~3 ms).

Handles a repository's own ``.git`` directory, linked worktrees (``.git`` is a file naming the
worktree's git dir, whose ``commondir`` leads to the shared one), loose and packed refs, and a
detached HEAD. The origin remote's URL is reported without credentials. Anything unreadable just
leaves the corresponding attribute out.
"""

from __future__ import annotations

import posix

from traceability.instrumentation import posix_fs
from traceability.instrumentation import semconv as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MAX_DEPTH = 64


def _read(path: str) -> str:
    try:
        return posix_fs.read_bytes(path, 1 << 20).decode("utf-8", "replace")
    except OSError:
        return ""


def _is_dir(path: str) -> bool | None:
    """True for a directory, False for another file, None when absent."""
    try:
        mode = posix.stat(path).st_mode
    except OSError:
        return None
    return (mode & 0o170000) == 0o040000


def _normalize(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def _find(cwd: str) -> tuple[str, str, bool] | None:
    """(working tree dir, git dir, is a linked worktree) of the repository holding ``cwd``."""
    path = _normalize(cwd)
    for _ in range(_MAX_DEPTH):
        dotgit = posix_fs.join(path, ".git")
        kind = _is_dir(dotgit)
        if kind is True:
            return path, dotgit, False
        if kind is False:
            text = _read(dotgit).strip()
            if text.startswith("gitdir:"):
                gitdir = text[len("gitdir:") :].strip()
                return path, _normalize(posix_fs.join(path, gitdir)), True
        if path == "/":
            return None
        path = posix_fs.dirname(path)
    return None


def _ref_value(common: str, gitdir: str, ref: str) -> str | None:
    for base in (gitdir, common):
        value = _read(posix_fs.join(base, ref)).strip()
        if value:
            return value
    for line in _read(posix_fs.join(common, "packed-refs")).splitlines():
        if line.endswith(" " + ref) and not line.startswith(("#", "^")):
            return line.split(" ", 1)[0]
    return None


def _origin_url(common: str) -> str | None:
    in_origin = False
    for raw in _read(posix_fs.join(common, "config")).splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_origin = line.replace("'", '"') == '[remote "origin"]'
        elif in_origin and line.split("=", 1)[0].strip() == "url" and "=" in line:
            return _without_credentials(line.split("=", 1)[1].strip())
    return None


def _without_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = authority.rpartition("@")[2]
    return f"{scheme}://{authority}{slash}{path}"


def _repo_name(url: str | None, root: str) -> str:
    if url:
        tail = url.rstrip("/").rpartition("/")[2].rpartition(":")[2]
        if tail.endswith(".git"):
            tail = tail[:-4]
        if tail:
            return tail
    return posix_fs.basename(root)


def git_context(cwd: str | None) -> dict[str, Any]:
    """``vcs.*`` attributes for ``cwd`` (empty when it is not inside a git working tree)."""
    if not cwd or not cwd.startswith("/"):
        return {}
    found = _find(cwd)
    if found is None:
        return {}
    worktree, gitdir, linked = found
    common = gitdir
    pointer = _read(posix_fs.join(gitdir, "commondir")).strip()
    if pointer:
        common = _normalize(posix_fs.join(gitdir, pointer))
    root = posix_fs.dirname(common) if common.endswith("/.git") else worktree
    attrs: dict[str, Any] = {sc.VCS_REPOSITORY_ROOT: root}
    if linked:
        attrs[sc.VCS_WORKTREE] = worktree
    head = _read(posix_fs.join(gitdir, "HEAD")).strip()
    revision: str | None
    if head.startswith("ref:"):
        ref = head[4:].strip()
        if ref.startswith("refs/heads/"):
            attrs[sc.VCS_REF_HEAD_NAME] = ref[len("refs/heads/") :]
            attrs[sc.VCS_REF_HEAD_TYPE] = sc.VCS_REF_TYPE_BRANCH
        revision = _ref_value(common, gitdir, ref)
    else:
        revision = head or None
    if revision and len(revision) in (40, 64) and not revision.strip("0123456789abcdef"):
        attrs[sc.VCS_REF_HEAD_REVISION] = revision
    url = _origin_url(common)
    if url:
        attrs[sc.VCS_REPOSITORY_URL_FULL] = url
    attrs[sc.VCS_REPOSITORY_NAME] = _repo_name(url, root)
    return attrs
