"""The hook's modules served from one marshalled file (hooks/code_bundle.py): used only while every
source is unchanged, rewritten when one changes, harmless when corrupt, same code as the sources."""

from __future__ import annotations

import re
import shutil
import subprocess
import traceback
from pathlib import Path

import pytest

from tests.support.hooks import HookEnv
from traceability.hooks import code_bundle, install
from traceability.hooks.install import entry_script

REPO = entry_script().parent.parent
EVENT = {
    "session_id": "5e55a0a0-0000-4000-8000-000000000001",
    "hook_event_name": "UserPromptSubmit",
    "prompt": "list the files",
    "cwd": "/tmp",
    "transcript_path": "/tmp/t.jsonl",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the hook's source tree (as an install lays it out), without any bytecode."""
    root = tmp_path / "site"
    for package in ("hooks", "instrumentation"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _bundle(tree: Path) -> Path:
    [path] = (tree / "hooks" / "__pycache__").glob("hook-modules.*.marshal")
    return path


def _loaders(env: HookEnv) -> dict[str, str]:
    """Which loader imported each of the hook's modules, from ``python -v``."""
    result = subprocess.run(
        [*env.command()[:1], "-v", *env.command()[1:]],
        input=b'{"hook_event_name": "Notification", "session_id": "s"}',
        capture_output=True,
        env=env.env(),
        timeout=60,
        check=True,
    )
    found = re.findall(rb"^import '(traceability\.[\w.]+)' # <([\w.]+)", result.stderr, re.MULTILINE)
    return {name.decode(): loader.decode().rpartition(".")[2] for name, loader in found}


def test_a_current_bundle_serves_every_module_the_hook_imports(tmp_path: Path, tree: Path) -> None:
    env = HookEnv(tmp_path / "env", entry=tree / "hooks" / "fast_entry.py")
    first = _loaders(env)  # no bundle yet: the usual imports, then one is written
    assert set(first.values()) == {"SourceFileLoader"}
    bundled = _loaders(env)
    assert bundled.keys() == first.keys()
    assert bundled.pop("traceability.hooks.code_bundle") == "SourceFileLoader"
    assert len(bundled) >= 15 and set(bundled.values()) == {"_BundleFinder"}, bundled
    env.replay([EVENT])
    [span] = [s for s in env.spans() if s.attributes.get("traceability.hook.type") == "UserPromptSubmit"]
    assert span.resource["service.version"] == "0.1.0"


def test_an_edited_module_is_imported_from_its_source_and_the_bundle_rewritten(
    tmp_path: Path, tree: Path
) -> None:
    env = HookEnv(tmp_path / "env", entry=tree / "hooks" / "fast_entry.py")
    env.replay([EVENT])
    written = _bundle(tree).read_bytes()
    main = tree / "hooks" / "main.py"
    main.write_text(main.read_text().replace('VERSION = "0.1.0"', 'VERSION = "7.7.7"', 1))
    assert _loaders(env)["traceability.hooks.main"] == "SourceFileLoader"
    assert _bundle(tree).read_bytes() != written
    assert _loaders(env)["traceability.hooks.main"] == "_BundleFinder"
    env.replay([EVENT])
    versions = {s.resource["service.version"] for s in env.spans()}
    assert versions == {"0.1.0", "7.7.7"}  # the run before the edit, and the one after


def test_a_corrupt_bundle_costs_only_the_usual_imports(tmp_path: Path, tree: Path) -> None:
    env = HookEnv(tmp_path / "env", entry=tree / "hooks" / "fast_entry.py")
    env.replay([EVENT])
    _bundle(tree).write_bytes(b"\x00 not marshal data")
    env.replay([EVENT])  # exit 0, nothing on stdout/stderr, no error logged
    assert len(env.spans()) >= 2
    assert _bundle(tree).read_bytes() != b"\x00 not marshal data"
    assert set(_loaders(env).values()) == {"SourceFileLoader", "_BundleFinder"}


def test_bundled_code_drops_only_docstrings(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        '"""Module doc."""\n'
        "from __future__ import annotations\n"
        "\n"
        "def f(x: Undefined) -> int:\n"
        '    """Function doc."""\n'
        '    assert x != 0, "kept"\n'
        "    raise KeyError(x)\n"
        "\n"
        "class C:\n"
        '    """Only a docstring."""\n'
    )
    namespace: dict[str, object] = {}
    exec(code_bundle.compile_module(str(source)), namespace)
    f = namespace["f"]
    assert callable(f)
    assert "__doc__" not in namespace  # a module docstring would have set it
    assert f.__doc__ is None and getattr(namespace["C"], "__doc__", "") is None
    assert "annotations" not in namespace  # the __future__ import became the compiler flag
    assert f.__annotations__ == {"x": "Undefined", "return": "int"}
    with pytest.raises(AssertionError, match="kept"):
        f(0)
    with pytest.raises(KeyError) as raised:
        f(1)
    where = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert (where.filename, where.lineno) == (str(source), 7)


def test_install_warms_the_bundle_beside_the_hook() -> None:
    bundle = (
        entry_script().parent / "__pycache__" / f"hook-modules.{code_bundle._FILE_NAME.split('.')[1]}.marshal"
    )
    bundle.unlink(missing_ok=True)
    install.warm()
    assert bundle.is_file() and bundle.stat().st_size > 10_000
