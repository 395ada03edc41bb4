"""The code-writing tools and the file-extension -> language table: one spelling for every layer.

The hook (what it records as ``traceability.code.*``), the quality enforcer (what it checks) and
the pattern deriver (which stored tool spans it reads, and a language for spans that declare none)
all import these. It imports nothing: the hook loads it on its ~ms-budget path.
"""

from __future__ import annotations

# Tools whose use writes code: their tool spans carry the code they produced (docs/span-contract.md)
# and the pattern deriver reads them back. A tuple in this order: the deriver's SQL spells it as the
# predicate of its partial index (migration 0012).
CODE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
# What the quality enforcer checks by default: the code tools whose result is a source file
# (a NotebookEdit changes one cell of a JSON notebook, which the linters do not read).
ENFORCED_TOOLS = ("Write", "Edit", "MultiEdit")

LANGUAGES = {
    "py": "python", "pyi": "python", "js": "javascript", "mjs": "javascript", "cjs": "javascript",
    "jsx": "javascript", "ts": "typescript", "tsx": "typescript", "mts": "typescript", "go": "go",
    "rs": "rust", "java": "java", "kt": "kotlin", "rb": "ruby", "php": "php", "c": "c", "h": "c",
    "cc": "cpp", "cpp": "cpp", "hpp": "cpp", "cs": "csharp", "swift": "swift", "scala": "scala",
    "sh": "shell", "bash": "shell", "zsh": "shell", "sql": "sql", "json": "json", "yaml": "yaml",
    "yml": "yaml", "toml": "toml", "md": "markdown", "html": "html", "css": "css", "scss": "css",
    "vue": "vue", "svelte": "svelte", "lua": "lua", "r": "r", "dart": "dart", "ex": "elixir",
    "exs": "elixir", "tf": "terraform", "ipynb": "jupyter", "xml": "xml", "txt": "text",
}  # fmt: skip
UNKNOWN_LANGUAGE = "text"
_SPECIAL_NAMES = {"Dockerfile": "dockerfile", "Makefile": "makefile", ".env": "dotenv"}


def language_of(path: str) -> str:
    """The language of a file, from its name (``Dockerfile``, ``.env*``) or its extension; else "text"."""
    name = path.rpartition("/")[2]
    if name in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[name]
    if name.startswith(".env"):
        return "dotenv"
    _, dot, ext = name.rpartition(".")
    return LANGUAGES.get(ext.lower(), UNKNOWN_LANGUAGE) if dot else UNKNOWN_LANGUAGE
