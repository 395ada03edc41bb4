"""Secret redaction for everything the hook writes (prompts, tool inputs and outputs, code, JSON keys).

The API: ``redact(text) -> str`` and ``redact_json(value)`` (a JSON-like copy, keys included).

Rules, in the order they are tried (one combined pattern per pass, instrumentation/redaction/regex_cache.py):

1. provider shapes: detect-secrets' plugin regexes (generated into instrumentation/redaction/secret_rules.py from the
   package; instrumentation/redaction/rules_gen.py) plus the shapes below that it lacks or matches too narrowly;
2. context: a secret-named variable, key, header or command-line flag followed by a value (``.env``,
   shell, ``.npmrc``, YAML, JSON, code literals, ``Authorization: Bearer``, ``mysql -p'...'``);
3. entropy: any value in assignment position (after ``=`` or ``:``), and any token of the shape
   ``prefix_<32+ characters>``, that is long and random-looking (Shannon entropy near the maximum for
   its length; base64 that decodes to text is data).

Bounded cost: ``redact`` scans at most ``SCAN_CHARS`` characters and drops the rest (marked), so no
caller can store an unscanned tail; callers that keep less cut first (``redact_cut``).
"""

from __future__ import annotations

from traceability.instrumentation.redaction import regex_cache, secret_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from typing import Any

    from traceability.instrumentation.redaction.regex_cache import LazyPattern

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
# Each rule comes with a guard: lowercase substrings of which the text must hold one for the rule to
# possibly match (a necessary condition, checked with ``in``: ~50x cheaper than running the pattern),
# or None to always run it.
_UPPER_WORDS = ("secret", "token", "pass", "key", "credential", "auth", "pwd", "sas")
_NAME_WORDS = ("secret", "token", "passw", "pwd", "key", "credential", "auth")
# provider shapes detect-secrets has no plugin for, or matches too narrowly (fixed lengths, no \b)
_SHAPES: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    (
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ("private key",),
    ),
    (r"PuTTY-User-Key-File-\d:[\s\S]*?(?:Private-MAC: *[0-9a-fA-F]+|\Z)", ("putty-user-key",)),
    (r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,255}", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (r"\bgithub_pat_[A-Za-z0-9_]{22,255}", ("github_pat_",)),
    (r"(?<![A-Za-z0-9_])sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", ("sk-",)),
    (r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}", ("k_live_", "k_test_")),
    (r"\bxox[abposre]-[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Za-z0-9-]{10,}", ("xox", "xapp-")),
    (r"AIza[0-9A-Za-z_\-]{35}", ("aiza",)),
    (r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*", ("eyj",)),
    (r"\bhf_[A-Za-z0-9]{30,}", ("hf_",)),
    (r"\bnpm_[A-Za-z0-9]{30,}", ("npm_",)),
    (r"\bpypi-[A-Za-z0-9_\-]{50,}", ("pypi-",)),
    (r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}", ("sg.",)),
    (r"\bgl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas|sa|c)-[A-Za-z0-9_\-]{20,}", ("gl",)),
    (
        r"(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature|[?&]sig)=([A-Za-z0-9+/%]{20,}={0,2})",
        ("accountkey", "sharedaccess", "sig="),
    ),
    (
        r"(?i)(?:aws_?secret_?access_?key|secretaccesskey)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{30,})",
        ("secretaccesskey", "secret_access_key", "secret_accesskey", "secretaccess_key"),
    ),
    (r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@", ("://",)),
)
# a secret-named variable, key, header or flag, and its value (the last matched group is the secret)
_CONTEXT: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    (
        r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:[a-z][\w-]{0,15}\s+)?([A-Za-z0-9\-._~+/=:]{8,})",
        ("authorization",),
    ),
    (r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{12,}=*)", ("bearer",)),
    (
        r"(?i)\b(?:x-)?(?:api-?key|auth-?token|access-?token|private-token|vault-token|goog-api-key)\s*:\s*([^\s\"']{8,})",
        (
            "api-key",
            "apikey",
            "auth-token",
            "authtoken",
            "access-token",
            "accesstoken",
            "private-token",
            "vault-token",
            "goog-api-key",
        ),
    ),
    (rf"(?<![\w$])(?:export\s+)?{_UPPER_NAME}=(\"[^\"\n]+\"|'[^'\n]+'|[^\s\"'&;|)]+)", _UPPER_WORDS),
    (rf"(?i){_NAME}[\w\-]*=((?=[^\s\"'&;|,)]*\d)[^\s\"'&;|,)]{{6,}})", _NAME_WORDS),
    (rf"(?i){_NAME}[\w.\-]*[\"']?\]?\s*(?::=|=>|=|:)\s*{_QUOTED}", _NAME_WORDS),
    (
        rf"(?i){_NAME}[\w.\-]*[\"']?\s*[:=][ \t]+((?=[^\s\"',;]*\d)(?=[^\s\"',;]*[A-Za-z])[^\s\"',;(){{}}\[\]<>]{{8,}})(?![(\[.\w])",
        _NAME_WORDS,
    ),
    (rf"(?<![\w-])-p{_QUOTED}", ("-p'", '-p"')),
    (r"\b(?:mysql|mysqldump|mysqladmin|mariadb|mysqlsh)\b[^\n;&|]*?\s-p([^\s'\"]+)", ("mysql", "mariadb")),
    (r"\bsshpass\s+-p\s*(\S+)", ("sshpass",)),
    (
        r"(?i)(?<![\w-])--(?:[\w-]*-)?(?:password|passwd|token|secret|api-?key|auth-?token|access-?token)(?:=|\s+)(?:\"([^\"\n]+)\"|'([^'\n]+)'|([^\s\"'-][^\s\"']*))",
        ("passw", "token", "secret", "key"),
    ),
    (r"(?<![\w-])(?:-u|--user)\s+[\"']?[^\s:'\"]+:([^\s'\"@]+)", ("-u",)),
)
# kept only when the token passes _looks_random: a long token right after an assignment, and the
# shape of most newer provider tokens, a short lowercase prefix and a long random part (dop_v1_...)
_PREFIXED = r"\b[a-z][a-z0-9]{1,9}[_-](?:[a-z0-9]{1,4}[_-])?([A-Za-z0-9]{32,})(?![A-Za-z0-9_-])"
_ENTROPY = r"(?:[:=]|=>)[ \t]*[\"'`]?([A-Za-z0-9+/_\-.~]{20,}={0,2})(?![A-Za-z0-9+/_\-.~=(\[])"

# guards for detect-secrets' rules, by secret type (a type not listed here always runs); re-check
# them when instrumentation/redaction/secret_rules.py is regenerated
_GENERATED_GUARDS: dict[str, tuple[str, ...]] = {
    "Artifactory Credentials": ("akc", "ap"),
    "AWS Access Key": ("a3t", "abia", "acca", "akia", "asia", "aws"),
    "Azure Storage Account access key": ("accountkey=",),
    "Basic Auth Credentials": ("://",),
    "Cloudant Credentials": ("cl",),
    "Discord Bot Token": (".",),
    "GitHub Token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "GitLab Token": ("gl", "gr1348941"),
    "IBM Cloud IAM Key": ("key", "pwd", "pass", "token"),
    "IBM COS HMAC Credentials": ("secret",),
    "Mailchimp Access Key": ("-us",),
    "NPM tokens": ("_authtoken=",),
    "OpenAI Token": ("t3blbkfj",),
    "PyPI Token": ("pypi-",),
    "SendGrid API Key": ("sg.",),
    "Slack Token": ("xox", "hooks.slack.com"),
    "SoftLayer Credentials": ("sl",),
    "Square OAuth Secret": ("sq0csp-",),
    "Stripe Access Key": ("k_live_",),
    "Telegram Bot Token": (":",),
    "Twilio API Key": ("ac", "sk"),
}
# the shortest text some rules with weak guards (one common character) can match: skipped below it
_GENERATED_MIN = {
    "Discord Bot Token": 59,
    "Telegram Bot Token": 44,
    "Twilio API Key": 34,
    "Mailchimp Access Key": 36,
}

MIN_SECRET_CHARS = 8  # shorter text holds no secret any rule could tell from ordinary text

_Rule = tuple["LazyPattern", "Callable[[re.Match[str]], str]", "frozenset[str] | None", int]
_compiled: list[_Rule] | None = None
_guard_words: tuple[str, ...] = ()  # every guard's words, each looked for once per text
_secret_name: LazyPattern | None = None
_HAND, _GENERATED, _RANDOM = 0, 1, 2  # how a rule's match maps to the secret (see _secret_span)


def _rules() -> list[tuple[str, int, tuple[str, ...] | None, int]]:
    """(pattern, how its match maps to the secret, guard, shortest text it can match) for every
    rule, in the order applied."""
    short = MIN_SECRET_CHARS
    rules = [(s, _HAND, guard, short) for s, guard in _SHAPES]
    rules += [
        (
            ("(?i)" if icase else "") + s,
            _GENERATED,
            _GENERATED_GUARDS.get(kind),
            _GENERATED_MIN.get(kind, short),
        )
        for kind, s, icase in secret_rules.RULES
    ]
    rules += [(s, _HAND, guard, short) for s, guard in _CONTEXT]
    rules.append((_PREFIXED, _RANDOM, ("_", "-"), 35))  # a 2-letter prefix, "_", 32 characters
    rules.append((_ENTROPY, _RANDOM, ("=", ":"), 21))  # "=" and 20 characters
    return rules


def _patterns() -> list[_Rule]:
    """The rules, compiled (from the on-disk cache when it is current), each with its replacement.
    Separate patterns, applied in turn: one alternation of them all scans ~2x slower, as it loses
    each rule's literal-prefix search. The last pattern is ``_NAME`` alone (for ``is_secret_name``)."""
    global _compiled, _secret_name, _guard_words
    if _compiled is None:
        rules = _rules()
        sources = (*(source for source, _, _, _ in rules), f"(?i){_NAME}")
        *patterns, _secret_name = regex_cache.compile_all("redact-rules", sources)
        replace = {mode: _replacer(mode) for mode in (_HAND, _GENERATED, _RANDOM)}
        _compiled = [
            (pattern, replace[mode], None if guard is None else frozenset(guard), shortest)
            for pattern, (_, mode, guard, shortest) in zip(patterns, rules, strict=True)
        ]
        _guard_words = tuple({word for _, _, guard, _ in rules for word in guard or ()})
    return _compiled


def warm() -> None:
    """Compile the rules now (and fill the on-disk cache), e.g. at install time."""
    _patterns()


def _replacer(mode: int) -> Callable[[re.Match[str]], str]:
    return lambda match: _replace(match, mode)


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
    if len(text) < MIN_SECRET_CHARS:
        return text
    dropped = len(text) - SCAN_CHARS
    if dropped > 0:
        text = text[:SCAN_CHARS]
    rules = _patterns()
    low = text.lower()
    present = {word for word in _guard_words if word in low}
    for pattern, replace, guard, shortest in rules:
        if len(text) >= shortest and (guard is None or not guard.isdisjoint(present)):
            text = pattern.sub(replace, text)
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
    _patterns()
    assert _secret_name is not None
    return _secret_name.search(name if len(name) <= 128 else name[:128]) is not None


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
