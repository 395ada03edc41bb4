"""Code normalization and the pattern id scheme.

Two pieces of code are the same pattern when their normalized forms are equal: comments,
docstrings, blank lines and whitespace do not count. ``code_hash`` is the SHA-256 of the
normalized code; a pattern's id is the first 16 hex digits of the code hash of its first version,
so a pattern keeps its id across versions.
"""

from __future__ import annotations

import hashlib
import io
import re
import tokenize

from traceability.instrumentation.semconv import UNKNOWN_LANGUAGE, language_of

PATTERN_ID_HEX_DIGITS = 16

_HASH_COMMENT_LANGUAGES = {"shell", "ruby", "yaml", "toml", "perl", "r", "python"}
_SLASH_COMMENT_LANGUAGES = {
    "javascript", "typescript", "java", "kotlin", "go", "rust", "c", "cpp", "csharp", "swift", "scala", "php", "css",
}  # fmt: skip
_WS = re.compile(r"\s+")


def detect_language(file_path: str | None, declared: str | None = None) -> str:
    """The declared language, else one guessed from the file extension, else "text"."""
    if declared:
        return declared.strip().lower()
    if file_path:
        return language_of(file_path)
    return UNKNOWN_LANGUAGE


def code_hash(normalized: str) -> str:
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def pattern_id_for(normalized: str) -> str:
    return code_hash(normalized)[:PATTERN_ID_HEX_DIGITS]


def normalize(code: str, language: str) -> str:
    """Comments, docstrings, blank lines and whitespace runs removed; one logical line per line."""
    if language == "python":
        normalized = _normalize_python(code)
        if normalized is not None:
            return normalized
    return _normalize_generic(code, language)


def _normalize_python(code: str) -> str | None:
    """Token-based: drops comments and docstrings, keeps block structure as ``{``/``}`` markers."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    lines: list[str] = []
    current: list[str] = []
    statement_start = True
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if kind == tokenize.NEWLINE:
            if current:
                lines.append(" ".join(current))
                current = []
            statement_start = True
            continue
        if kind in (tokenize.INDENT, tokenize.DEDENT):
            lines.append("{" if kind == tokenize.INDENT else "}")
            statement_start = True
            continue
        if kind == tokenize.STRING and statement_start and _ends_statement(tokens, i):
            continue  # a docstring or a bare string statement
        current.append(tok.string)
        statement_start = False
    if current:
        lines.append(" ".join(current))
    return "\n".join(lines)


def _ends_statement(tokens: list[tokenize.TokenInfo], index: int) -> bool:
    for tok in tokens[index + 1 :]:
        if tok.type in (tokenize.COMMENT, tokenize.NL):
            continue
        return tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.DEDENT)
    return True


def _normalize_generic(code: str, language: str) -> str:
    stripped = _strip_comments(
        code, slash=language in _SLASH_COMMENT_LANGUAGES, hash_=language in _HASH_COMMENT_LANGUAGES
    )
    lines = (_WS.sub(" ", line).strip() for line in stripped.splitlines())
    return "\n".join(line for line in lines if line)


def _strip_comments(code: str, *, slash: bool, hash_: bool) -> str:
    """Remove // and /* */ (slash) or # (hash) comments outside string literals."""
    if not (slash or hash_):
        return code
    out: list[str] = []
    i, n = 0, len(code)
    quote: str | None = None
    while i < n:
        ch = code[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(code[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
            i += 1
            continue
        if ch in "\"'`":
            quote = ch
            out.append(ch)
            i += 1
        elif (slash and code.startswith("//", i)) or (hash_ and ch == "#"):
            while i < n and code[i] != "\n":
                i += 1
        elif slash and code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)
