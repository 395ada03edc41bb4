"""Secret redaction for everything the hook writes (prompts, tool inputs and outputs, code).

Regexes cost ~12 ms to import (``re``), so each string is first scanned for cheap substrings that
every secret shape below contains; only a string with such a hint pays for ``re``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

REDACTED = "[REDACTED]"

# Every pattern below contains one of these (case-sensitive) substrings, or "sk-" at a word start, or
# "://" together with "@" (both checked in might_hold_secret).
_HINTS = (
    "AKIA", "ASIA", "aws_secret", "AWS_SECRET", "SecretAccessKey",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
    "sk_live_", "rk_live_", "xox", "AIza", "eyJ", "PRIVATE KEY",
    "SECRET", "TOKEN", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL",
)  # fmt: skip

_PATTERNS = (
    # PEM private keys (RSA, EC, OPENSSH, PGP, ...), whole block
    (
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        0,
    ),
    # AWS access key ids and secret access keys
    (r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[0-9A-Z]{16}\b", 0),
    (r"(?i)(aws_?secret_?access_?key|SecretAccessKey)([\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{30,}", 2),
    # GitHub tokens
    (r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b", 0),
    (r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", 0),
    # Anthropic, OpenAI (sk-, sk-proj-, sk-ant-...), Stripe, Slack, Google API keys
    (r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", 0),
    (r"\b[sr]k_live_[A-Za-z0-9]{16,}", 0),
    (r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0),
    (r"\bAIza[0-9A-Za-z_\-]{35}\b", 0),
    # JSON Web Tokens
    (r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}", 0),
    # passwords in URLs: scheme://user:password@host
    (r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]+:)([^\s@/'\"]+)(@)", 3),
    # .env / shell lines assigning a secret-looking variable: NAME=value (the name stays)
    (
        r"(?m)^(\s*(?:export\s+)?[A-Z][A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|APIKEY|PRIVATE_KEY|ACCESS_KEY|CREDENTIALS?)[A-Z0-9_]*\s*=\s*)(?![\s\"']*$)([^\n]+)$",
        1,
    ),
)

_compiled: list[tuple[re.Pattern[str], int]] | None = None


def _patterns() -> list[tuple[re.Pattern[str], int]]:
    global _compiled
    if _compiled is None:
        import re

        _compiled = [
            (re.compile(p, re.DOTALL if i == 0 else 0), kind) for i, (p, kind) in enumerate(_PATTERNS)
        ]
    return _compiled


def _replace(kind: int) -> str:
    if kind == 1:
        return r"\1" + REDACTED
    if kind == 2:
        return r"\1\2" + REDACTED
    if kind == 3:
        return r"\1" + REDACTED + r"\3"
    return REDACTED


def _has_sk_token(text: str) -> bool:
    """True for "sk-" at a word start ("task-", "disk-" are everywhere in paths and prose)."""
    index = text.find("sk-")
    while index >= 0:
        if index == 0 or not (text[index - 1].isalnum() or text[index - 1] == "_"):
            return True
        index = text.find("sk-", index + 3)
    return False


def might_hold_secret(text: str) -> bool:
    if any(hint in text for hint in _HINTS):
        return True
    if "://" in text and "@" in text:
        return True
    return "sk-" in text and _has_sk_token(text)


def redact(text: str) -> str:
    """``text`` with every known secret shape replaced by ``[REDACTED]``."""
    if not might_hold_secret(text):
        return text
    for pattern, kind in _patterns():
        text = pattern.sub(_replace(kind), text)
    return text
