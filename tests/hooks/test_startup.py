"""The hook's modules run from one marshalled file (hooks/startup.py, hooks/bundle_build.py): used
only while every source is unchanged, rewritten when one changes, harmless when corrupt, the same
code as the sources, run in the order a normal import runs them."""

from __future__ import annotations

import marshal
import re
import shutil
import subprocess
import traceback
from pathlib import Path

import pytest

from tests.support.hooks import HookEnv
from traceability.hooks import bundle_build, install, startup
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


def _imported(env: HookEnv, *others: str) -> list[str]:
    """The hook's modules (and any of ``others``) the import system loaded in one run, in the order
    they finished (from ``python -X importtime``); a bundled module is run by hooks/startup.py
    instead, so not listed."""
    result = subprocess.run(
        [*env.command()[:1], "-X", "importtime", *env.command()[1:]],
        input=b'{"hook_event_name": "Notification", "session_id": "s"}',
        capture_output=True,
        env=env.env(),
        timeout=60,
        check=True,
    )
    names = re.findall(r"\| +([\w.]+)$", result.stderr.decode(), re.MULTILINE)
    return [name for name in names if name.startswith("traceability.") or name in others]


def _entries(tree: Path) -> list[str]:
    _, entries, _ = marshal.loads(_bundle(tree).read_bytes())
    return [entry[0] for entry in entries]


def test_a_current_bundle_runs_every_module_the_hook_imports_in_import_order(
    tmp_path: Path, tree: Path
) -> None:
    env = HookEnv(tmp_path / "env", entry=tree / "hooks" / "fast_entry.py")
    first = _imported(env)  # no bundle yet: the usual imports, then one is written
    assert first[0] == "traceability.hooks.startup" and first[-1] == "traceability.hooks.bundle_build"
    # the bundle: what importing hooks/main.py ran, in the order a normal import finished it; not
    # the cold path this first run took while it ran (no cached config parse yet)
    assert first[-2] == "traceability.hooks.settings_file"
    assert len(first) >= 17 and _entries(tree) == first[1:-2]
    assert _imported(env) == ["traceability.hooks.startup"]  # the rest came from the bundle
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
    assert "traceability.hooks.main" in _imported(env)  # from its source, and the bundle rewritten
    assert _bundle(tree).read_bytes() != written
    assert _imported(env) == ["traceability.hooks.startup"]
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
    assert _imported(env) == ["traceability.hooks.startup"]


def test_a_module_failing_in_the_bundle_leaves_nothing_half_run(tmp_path: Path, tree: Path) -> None:
    """Whatever makes a bundled module raise: every bundled module is undone, the usual imports
    follow (and meet the same error, which the hook then has as before)."""
    env = HookEnv(tmp_path / "env", entry=tree / "hooks" / "fast_entry.py")
    env.replay([EVENT])
    key, entries, extensions = marshal.loads(_bundle(tree).read_bytes())
    broken = compile("raise RuntimeError('bundled')", entries[-1][1], "exec")
    entries[-1] = (*entries[-1][:4], broken)
    _bundle(tree).write_bytes(marshal.dumps((key, entries, extensions)))
    probe = (
        "from traceability.hooks import startup\n"
        "ok = startup.install()\n"
        "left = [n for n, m in sys.modules.items() if n.startswith('traceability.') and hasattr(m, '__file__')]\n"
        "print(ok, left, [n for n in ('main', 'fs', 'spans') if hasattr(sys.modules['traceability.hooks'], n)])\n"
    )
    script = tree / "hooks" / "probe.py"
    script.write_text(
        (tree / "hooks" / "fast_entry.py").read_text().split("from traceability.hooks.startup")[0] + probe
    )
    out = subprocess.run(
        [*env.command()[:1], "-I", "-S", str(script)],
        capture_output=True,
        text=True,
        env=env.env(),
        check=True,
    ).stdout
    assert out == "False ['traceability.hooks.startup'] []\n"


def test_the_json_accelerator_loads_from_the_file_the_bundle_names_else_as_usual(
    tmp_path: Path, tree: Path
) -> None:
    """``_json`` (every run's) comes from its recorded file, not through the import system; a file
    that is gone leaves it to the usual import, and the run is the same."""
    env = HookEnv(tmp_path / "env", entry=tree / "hooks" / "fast_entry.py")
    env.replay([EVENT])
    key, entries, extensions = marshal.loads(_bundle(tree).read_bytes())
    [(name, origin)] = extensions
    assert name == "_json" and Path(origin).is_file()
    assert "_json" not in _imported(env, "_json")
    _bundle(tree).write_bytes(marshal.dumps((key, entries, [("_json", str(tmp_path / "gone.so"))])))
    assert "_json" in _imported(env, "_json")
    env.replay([EVENT])
    assert (
        len([s for s in env.spans() if s.attributes.get("traceability.hook.type") == "UserPromptSubmit"]) == 2
    )


def test_the_order_is_none_when_it_would_run_a_module_before_one_it_imports() -> None:
    assert bundle_build.execution_order({"a": ["b"], "b": ["c"], "c": []}) == ["c", "b", "a"]
    assert bundle_build.execution_order({"a": ["b", "x"], "b": [], "d": ["a"]}) == ["b", "a", "d"]
    assert bundle_build.execution_order({"a": ["b"], "b": ["a"]}) is None


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
    exec(bundle_build.compile_module(str(source)), namespace)
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
    bundle = entry_script().parent / "__pycache__" / f"hook-modules.{startup.FILE_NAME.split('.')[1]}.marshal"
    bundle.unlink(missing_ok=True)
    install.warm()
    assert bundle.is_file() and bundle.stat().st_size > 10_000
