"""The redaction rules' source, their on-disk compiled cache, and the bounded redaction API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from traceability.instrumentation.redaction import redact, regex_cache, rules_gen, secret_rules

ROOT = Path(__file__).resolve().parents[2]
GITHUB = "ghp_" + "Zq7Rk2Lm9Xw4Vb8Nc3Tf6Hy1Pd5Sg0Ja1234"
# what hooks/fast_entry.py does: the hook's packages registered without site-packages
PROBE = f"""
import sys
for name, path in (("traceability", {str(ROOT)!r}), ("traceability.hooks", {str(ROOT / "hooks")!r}),
                   ("traceability.instrumentation", {str(ROOT / "instrumentation")!r}),
                   ("traceability.instrumentation.redaction", {str(ROOT / "instrumentation" / "redaction")!r})):
    module = type(sys)(name)
    module.__path__ = [path]
    sys.modules[name] = module
from traceability.instrumentation.redaction.redact import redact
print(redact("export SECRET=0123456789abcdef0123456789abcdef01234567 {GITHUB}"), "re" in sys.modules)
"""


def test_the_generated_rules_are_those_of_the_installed_detect_secrets() -> None:
    # detect-secrets is in the test extra: under CI=true its absence is a failure, elsewhere a skip
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        pytest.importorskip("detect_secrets")
    assert rules_gen.render() == rules_gen.TARGET.read_text(encoding="utf-8"), (
        "run: python -m traceability.instrumentation.redaction.rules_gen"
    )
    assert secret_rules.SOURCE.startswith("detect-secrets ")
    assert any(kind == "SendGrid API Key" for kind, _, _ in secret_rules.RULES)


def test_with_a_warm_cache_the_hook_redacts_without_importing_re() -> None:
    command = [sys.executable, "-I", "-S", "-c", PROBE]
    subprocess.run(command, check=True, capture_output=True)  # fills the cache if it was cold
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
    assert out == ["export", "SECRET=[REDACTED]", "[REDACTED]", "False"]


def test_a_missing_or_corrupt_cache_recompiles_and_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "pycache", tmp_path / "state"
    monkeypatch.setattr(regex_cache, "_cache_dirs", lambda: (str(first), str(second)))
    sources = (r"ghp_[A-Za-z0-9]{36}", r"(?i)(?P<name>secret)=(\w+)")
    cold = regex_cache.compile_all("t", sources)
    [cache] = first.iterdir()
    warm = regex_cache.compile_all("t", sources)
    cache.write_bytes(b"\x00garbage")
    again = regex_cache.compile_all("t", sources)
    for patterns in (cold, warm, again):
        assert patterns[0].sub("X", f"a {GITHUB} b") == "a X b"
        match = patterns[1].search("x SECRET=abc")
        assert match is not None and (match.group("name"), match.group(2)) == ("SECRET", "abc")
    assert cache.read_bytes() != b"\x00garbage"
    changed = regex_cache.compile_all("t", (sources[0],))  # other sources: not the cached ones
    assert changed[0].pattern == sources[0] and len(changed) == 1


def test_an_unwritable_package_cache_falls_back_to_the_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked, second = tmp_path / "pycache", tmp_path / "state"
    blocked.write_text("a file where the directory would be")
    monkeypatch.setattr(regex_cache, "_cache_dirs", lambda: (str(blocked), str(second)))
    regex_cache.compile_all("t", (r"ab+c",))
    assert [p.name.split(".")[0] for p in second.iterdir()] == ["t"]
    assert regex_cache.compile_all("t", (r"ab+c",))[0].sub("X", "abbbc") == "X"


def test_redact_scans_a_bounded_prefix_and_never_returns_the_rest() -> None:
    text = "x" * redact.SCAN_CHARS + GITHUB
    out = redact.redact(text)
    assert GITHUB not in out and out.endswith(f"…[{len(GITHUB)} chars not scanned]")


def test_a_cut_through_a_secret_leaves_none_of_it() -> None:
    for at in range(990, 1010):  # the cut falls before, inside and after the token
        text = "y" * at + GITHUB + " tail"
        out = redact.redact_cut(text, 1000)
        assert GITHUB[:12] not in out, at


def test_redact_json_redacts_keys_and_the_values_of_secret_named_keys() -> None:
    value = {
        GITHUB: 1,
        "password": "hunter2",
        "nested": [{"api_key": "abc", "max_tokens": 4096}],
        "note": GITHUB,
    }
    assert redact.redact_json(value) == {
        "[REDACTED]": 1, "password": "[REDACTED]", "nested": [{"api_key": "[REDACTED]", "max_tokens": 4096}],
        "note": "[REDACTED]",
    }  # fmt: skip


def test_guards_only_skip_rules_that_could_not_have_matched(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import secret_shapes, secrets_corpus

    texts = [
        corpus.planted(kind, f"g{i}").text
        for corpus in (secrets_corpus, secret_shapes)
        for kind in corpus.KINDS
        for i in range(10)
    ]
    texts += [*secrets_corpus.ORDINARY_CODE, *(Path(redact.__file__).read_text().splitlines())]
    texts += [t.upper() for t in texts] + [t.lower() for t in texts]
    guarded = [redact.redact(t) for t in texts]
    assert any(g != t for g, t in zip(guarded, texts, strict=True))
    rules = redact._patterns()
    monkeypatch.setattr(
        redact, "_compiled", [(pattern, replace, None, 0) for pattern, replace, _, _ in rules]
    )
    assert [redact.redact(t) for t in texts] == guarded
