"""Secret redaction for everything the hook writes (prompts, tool inputs and outputs, code, JSON keys).

The API: ``redact(text) -> str`` and ``redact_json(value)`` (a JSON-like copy, keys included).

Rules, in the order they are tried (one combined pattern per pass, hooks/regex_cache.py):

1. provider shapes: detect-secrets' plugin regexes (generated into hooks/secret_rules.py from the
   package; hooks/rules_gen.py) plus the shapes below that it lacks or matches too narrowly;
2. context: a secret-named variable, key, header or command-line flag followed by a value (``.env``,
   shell, ``.npmrc``, YAML, JSON, code literals, ``Authorization: Bearer``, ``mysql -p'...'``);
3. entropy: any value in assignment position (after ``=`` or ``:``), and any token of the shape
   ``prefix_<32+ characters>``, that is long and random-looking (Shannon entropy near the maximum for
   its length; base64 that decodes to text is data).

Bounded cost: ``redact`` scans at most ``SCAN_CHARS`` characters and drops the rest (marked), so no
caller can store an unscanned tail; callers that keep less cut first (``redact_cut``).
"""

from __future__ import annotations

from traceability.hooks import regex_cache, secret_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any

REDACTED = "[REDACTED]"
SCAN_CHARS = 256 * 1024  # longest text one redact() call scans; the rest is dropped, never stored
CUT_MARGIN = 1024  # scanned past a cut so that a secret straddling the cut still matches whole

_NAME = (
    r"(?:secret|token(?!s|i[sz])|passw(?:or)?d|pwd|api[_.\-]?key|apikey|access[_.\-]?key|private[_.\-]?key"
    r"|credentials?|_auth(?:token)?\b|auth[_.\-]?token|account[_.\-]?key|client[_.\-]?secret|session[_.\-]?key"
    r"|signing[_.\-]?key|encryption[_.\-]?key|master[_.\-]?key)"
)
_UPPER_NAME = (
    r"(?:[A-Z0-9]+_)*(?:SECRET|TOKEN|PASSWORD|PASSWD|PASS|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?"
    r"|AUTH|KEY|[A-Z0-9]+_PWD|SAS)(?:_[A-Z0-9]+)*"
)
_QUOTED = r"""(?:"([^"\n]{1,512})"|'([^'\n]{1,512})')"""
# provider shapes detect-secrets has no plugin for, or matches too narrowly (fixed lengths, no \b)
_SHAPES = (
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    r"PuTTY-User-Key-File-\d:[\s\S]*?(?:Private-MAC: *[0-9a-fA-F]+|\Z)",
    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,255}",
    r"\bgithub_pat_[A-Za-z0-9_]{22,255}",
    r"(?<![A-Za-z0-9_])sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"\bxox[abposre]-[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Za-z0-9-]{10,}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
    r"\bhf_[A-Za-z0-9]{30,}",
    r"\bnpm_[A-Za-z0-9]{30,}",
    r"\bpypi-[A-Za-z0-9_\-]{50,}",
    r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",
    r"\bgl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas|sa|c)-[A-Za-z0-9_\-]{20,}",
    r"(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature|[?&]sig)=([A-Za-z0-9+/%]{20,}={0,2})",
    r"(?i)(?:aws_?secret_?access_?key|secretaccesskey)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{30,})",
    r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@",
)
# a secret-named variable, key, header or flag, and its value (the last matched group is the secret)
_CONTEXT = (
    r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:[a-z][\w-]{0,15}\s+)?([A-Za-z0-9\-._~+/=:]{8,})",
    r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{12,}=*)",
    r"(?i)\b(?:x-)?(?:api-?key|auth-?token|access-?token|private-token|vault-token|goog-api-key)\s*:\s*([^\s\"']{8,})",
    rf"(?<![\w$])(?:export\s+)?{_UPPER_NAME}=(\"[^\"\n]+\"|'[^'\n]+'|[^\s\"'&;|)]+)",
    rf"(?i){_NAME}[\w\-]*=((?=[^\s\"'&;|,)]*\d)[^\s\"'&;|,)]{{6,}})",
    rf"(?i){_NAME}[\w.\-]*[\"']?\]?\s*(?::=|=>|=|:)\s*{_QUOTED}",
    rf"(?i){_NAME}[\w.\-]*[\"']?\s*[:=][ \t]+((?=[^\s\"',;]*\d)(?=[^\s\"',;]*[A-Za-z])[^\s\"',;(){{}}\[\]<>]{{8,}})(?![(\[.\w])",
    rf"(?<![\w-])-p{_QUOTED}",
    r"\b(?:mysql|mysqldump|mysqladmin|mariadb|mysqlsh)\b[^\n;&|]*?\s-p([^\s'\"]+)",
    r"\bsshpass\s+-p\s*(\S+)",
    r"(?i)(?<![\w-])--(?:[\w-]*-)?(?:password|passwd|token|secret|api-?key|auth-?token|access-?token)(?:=|\s+)(?:\"([^\"\n]+)\"|'([^'\n]+)'|([^\s\"'-][^\s\"']*))",
    r"(?<![\w-])(?:-u|--user)\s+[\"']?[^\s:'\"]+:([^\s'\"@]+)",
)
# kept only when the token passes _looks_random: a long token right after an assignment, and the
# shape of most newer provider tokens, a short lowercase prefix and a long random part (dop_v1_...)
_PREFIXED = r"\b[a-z][a-z0-9]{1,9}[_-](?:[a-z0-9]{1,4}[_-])?([A-Za-z0-9]{32,})(?![A-Za-z0-9_-])"
_ENTROPY = r"(?:[:=]|=>)[ \t]*[\"'`]?([A-Za-z0-9+/_\-.~]{20,}={0,2})(?![A-Za-z0-9+/_\-.~=(\[])"

_compiled: list[tuple[re.Pattern[str], int]] | None = None
_HAND, _GENERATED, _RANDOM = 0, 1, 2  # how a rule's match maps to the secret (see _secret_span)


def _rules() -> list[tuple[str, int]]:
    rules = [(s, _HAND) for s in _SHAPES]
    rules += [(("(?i)" if icase else "") + s, _GENERATED) for _, s, icase in secret_rules.RULES]
    rules += [(s, _HAND) for s in _CONTEXT]
    rules.append((_PREFIXED, _RANDOM))
    rules.append((_ENTROPY, _RANDOM))
    return rules


def _patterns() -> list[tuple[re.Pattern[str], int]]:
    """The rules, compiled (from the on-disk cache when it is current). Separate patterns, applied in
    turn: one alternation of them all scans ~2x slower, as it loses each rule's literal-prefix search."""
    global _compiled
    if _compiled is None:
        rules = _rules()
        patterns = regex_cache.compile_all("redact-rules", tuple(source for source, _ in rules))
        _compiled = [(pattern, mode) for pattern, (_, mode) in zip(patterns, rules, strict=True)]
    return _compiled


def _secret_span(match: re.Match[str], mode: int) -> tuple[int, int]:
    """The part of a rule's match that is the secret: for hand rules the last matched group (else the
    whole match); for detect-secrets' rules its longest group of 8+ characters (else the whole
    match), with the delimiters its patterns include around a token trimmed."""
    start, end = match.span()
    groups = [match.span(g) for g in range(1, match.re.groups + 1) if match.start(g) >= 0]
    if mode == _GENERATED:
        longest = max(groups, key=lambda s: s[1] - s[0], default=(start, start))
        if longest[1] - longest[0] >= 8:
            start, end = longest
        text = match.string
        while start < end and text[start] in " \t\r\n\"'=:":
            start += 1
        while end > start and text[end - 1] in " \t\r\n\"'":
            end -= 1
    elif groups:
        start, end = groups[-1]
    return start, end


def _replace(match: re.Match[str], mode: int) -> str:
    start, end = _secret_span(match, mode)
    if mode == _RANDOM and not _looks_random(match.string[start:end]):
        return match.group()
    offset = match.start()
    whole = match.group()
    return whole[: start - offset] + REDACTED + whole[end - offset :]


def _looks_random(token: str) -> bool:
    """A token that is most likely a key: letters and digits mixed, entropy at least 80% of the most
    its length allows (hex: of 4 bits), and not base64 of readable text."""
    if not any(c.isdigit() for c in token) or not any(c.isalpha() for c in token):
        return False
    counts: dict[str, int] = {}
    for char in token:
        counts[char] = counts.get(char, 0) + 1
    from math import log2

    n = len(token)
    entropy = -sum(c / n * log2(c / n) for c in counts.values())
    hexadecimal = all(c in "0123456789abcdefABCDEF" for c in token)
    ceiling = 4.0 if hexadecimal else log2(min(n, 64))
    if entropy < 0.8 * ceiling:
        return False
    return hexadecimal or not _decodes_to_text(token)


def _decodes_to_text(token: str) -> bool:
    import binascii

    try:
        raw = binascii.a2b_base64(token.replace("-", "+").replace("_", "/") + "==", strict_mode=False)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 8 and all(32 <= b < 127 or b in (9, 10, 13) for b in raw)


def redact(text: str) -> str:
    """``text`` with every secret shape replaced by ``[REDACTED]``; at most ``SCAN_CHARS`` of it."""
    dropped = len(text) - SCAN_CHARS
    if dropped > 0:
        text = text[:SCAN_CHARS]
    for pattern, mode in _patterns():
        text = pattern.sub(lambda match, mode=mode: _replace(match, mode), text)  # type: ignore[misc]
    return text + f"…[{dropped} chars not scanned]" if dropped > 0 else text


def redact_cut(text: str, limit: int) -> str:
    """``text`` redacted and cut to ``limit`` characters, scanning only a margin past the cut."""
    if len(text) <= limit:
        return redact(text)
    clean = redact(text[: limit + CUT_MARGIN])
    return f"{clean[:limit]}…[{len(text) - limit} more chars]"


def redact_key(key: str) -> str:
    """A JSON object key: the rules of ``redact``, and a key that is itself one random token."""
    clean = redact(key)
    if (
        clean == key
        and 20 <= len(key) <= 512
        and not any(c in key for c in " \t\n/\\")
        and _looks_random(key)
    ):
        return REDACTED
    return clean


def is_secret_name(name: str) -> bool:
    """A key whose value is a secret whatever it looks like (``password``, ``api_key``, ...)."""
    probe = name if len(name) <= 128 else name[:128]
    return redact(f"{probe}='x1x1x1x1'") != f"{probe}='x1x1x1x1'"


def redact_json(value: Any, depth: int = 0) -> Any:
    """A JSON-like copy of ``value``: every string and key redacted; the value of a secret-named key
    replaced whole. No size caps here (see payload.clean for the hook's bounded version)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = redact_key(str(key))
            if isinstance(item, str) and item and is_secret_name(str(key)):
                out[name] = REDACTED
            else:
                out[name] = redact_json(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [redact_json(item, depth + 1) for item in value]
    return value
