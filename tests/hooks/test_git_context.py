"""Hook spans carry the git context of their cwd, read from .git files (git only builds the fixtures here)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.hooks import HookEnv
from traceability.hooks.git_context import git_context
from traceability.instrumentation import semconv as sc

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.test", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
           "PATH": "/usr/bin:/bin"}  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "myrepo"
    (root / "src" / "pkg").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "https://alice:s3cret@git.example.test/team/widgets.git")
    (root / "README").write_text("x")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_branch_revision_remote_and_subdirectory(repo: Path) -> None:
    attrs = git_context(str(repo / "src" / "pkg"))
    assert attrs == {
        sc.VCS_REPOSITORY_ROOT: str(repo),
        sc.VCS_REF_HEAD_NAME: "main",
        sc.VCS_REF_HEAD_TYPE: "branch",
        sc.VCS_REF_HEAD_REVISION: git(repo, "rev-parse", "HEAD"),
        sc.VCS_REPOSITORY_URL_FULL: "https://git.example.test/team/widgets.git",
        sc.VCS_REPOSITORY_NAME: "widgets",
    }


def test_packed_refs_detached_head_and_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert git_context(str(repo))[sc.VCS_REF_HEAD_REVISION] == git(repo, "rev-parse", "HEAD")

    other = tmp_path / "wt-feature"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(other))
    (other / "f").write_text("y")
    git(other, "add", "f")
    git(other, "commit", "-q", "-m", "feature work")
    attrs = git_context(str(other))
    assert attrs[sc.VCS_WORKTREE] == str(other) and attrs[sc.VCS_REPOSITORY_ROOT] == str(repo)
    assert attrs[sc.VCS_REF_HEAD_NAME] == "feature"
    assert (
        attrs[sc.VCS_REF_HEAD_REVISION] == git(other, "rev-parse", "HEAD") != git(repo, "rev-parse", "HEAD")
    )

    git(repo, "checkout", "-q", "--detach")
    detached = git_context(str(repo))
    assert sc.VCS_REF_HEAD_NAME not in detached
    assert detached[sc.VCS_REF_HEAD_REVISION] == git(repo, "rev-parse", "HEAD")


def test_outside_a_repository_nothing(tmp_path: Path) -> None:
    assert git_context(str(tmp_path)) == {}
    assert git_context("relative/path") == {}
    assert git_context(None) == {}


def test_every_hook_span_carries_the_git_context(repo: Path, tmp_path: Path) -> None:
    base: dict[str, Any] = {"session_id": "s-git", "cwd": str(repo / "src"), "transcript_path": "/dev/null"}
    hook = HookEnv(tmp_path / "hook")
    hook.replay([
        {**base, "hook_event_name": "SessionStart", "source": "startup"},
        {**base, "hook_event_name": "UserPromptSubmit", "prompt_id": "p-git", "prompt": "hi"},
        {**base, "hook_event_name": "Stop", "prompt_id": "p-git"},
    ])  # fmt: skip
    hook_spans = [s for s in hook.spans() if s.attributes.get(sc.SPAN_TYPE) == sc.SPAN_TYPE_HOOK]
    assert len(hook_spans) == 3
    for span in hook_spans:
        assert span.attributes[sc.VCS_REF_HEAD_NAME] == "main"
        assert span.attributes[sc.VCS_REF_HEAD_REVISION] == git(repo, "rev-parse", "HEAD")
        assert span.attributes[sc.VCS_REPOSITORY_NAME] == "widgets"
        assert "s3cret" not in span.attributes[sc.VCS_REPOSITORY_URL_FULL]
