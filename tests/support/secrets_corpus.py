"""Planted secrets (realistic shapes, unique per use) and ordinary code that must pass untouched."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass


def _chars(seed: str, n: int, alphabet: str) -> str:
    out: list[str] = []
    counter = 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:n])


UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B64 = ALNUM + "+/"


@dataclass(frozen=True)
class Planted:
    kind: str
    text: str  # what is written into the payload
    core: str  # the secret part that must never be stored


def _jwt(seed: str) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    claims = base64.urlsafe_b64encode(json.dumps({"sub": seed, "admin": True}).encode()).decode().rstrip("=")
    return f"{header}.{claims}.{_chars(seed, 43, ALNUM + '-_')}"


def _pem(seed: str) -> tuple[str, str]:
    body = "\n".join(_chars(seed + str(i), 64, B64) for i in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----", body.split("\n")[1]


def _secret(kind: str, seed: str) -> tuple[str, str]:
    """(text written into the payload, the part that must never be stored) for one kind."""
    if kind == "aws_access_key_id":
        key = "AKIA" + _chars(seed, 16, UPPER_DIGITS)
        return key, key
    if kind == "aws_secret_access_key":
        value = _chars(seed, 40, B64)
        return f"aws_secret_access_key = {value}", value
    if kind == "private_key":
        block, line = _pem(seed)
        return "\n" + block + "\n", line
    if kind == "jwt":
        token = _jwt(seed)
        return token, token.rsplit(".", 1)[1]
    if kind == "url_password":
        password = _chars(seed, 18, ALNUM)
        return f"postgresql://deploy:{password}@db.internal:5432/app", password
    if kind == "env_line":
        value = _chars(seed, 24, ALNUM)
        return f"\nDATABASE_PASSWORD={value}\n", value
    if kind == "env_export":
        value = _chars(seed, 32, ALNUM)
        return f"\nexport STRIPE_API_KEY={value}\n", value
    prefix, length, alphabet = _TOKENS[kind]
    token = prefix + _chars(seed, length, alphabet)
    return token, token


_TOKENS = {
    "github_token": ("ghp_", 36, ALNUM),
    "github_pat": ("github_pat_", 82, ALNUM + "_"),
    "anthropic_key": ("sk-ant-api03-", 95, ALNUM + "-_"),
    "openai_key": ("sk-proj-", 48, ALNUM + "-_"),
    "openai_legacy_key": ("sk-", 48, ALNUM),
}
KINDS = (
    "aws_access_key_id", "aws_secret_access_key", "github_token", "github_pat", "anthropic_key", "openai_key",
    "openai_legacy_key", "jwt", "private_key", "url_password", "env_line", "env_export",
)  # fmt: skip


def planted(kind: str, seed: str) -> Planted:
    text, core = _secret(kind, seed)
    return Planted(kind, text, core)


# Code that looks a little like secrets but is not one: must reach the spool byte for byte.
ORDINARY_CODE = (
    "from sklearn.model_selection import train_test_split\n"
    "task_id = 'task-runner-7'  # disk-cache, risk-score, ask-user\n",
    "import getpass\n\npassword = getpass.getpass()\ntoken = request.headers['Authorization']\n",
    "def api_key() -> str:\n    return os.environ['API_KEY']\n",
    "URL = 'https://example.com/docs@v2/page?user=me'\nEMAIL = 'dev@example.com'\n",
    "SECRET_NAME = ''\nTOKEN_TTL = \"\"\n",
    "digest = hashlib.sha256(b'x').hexdigest()  # 2cf24dba5fb0a30e26e83b2ac5b9e29e\n",
    "class TokenBucket:\n    def __init__(self, rate: float) -> None:\n        self.rate = rate\n",
    "const header = 'eyJ'; // prefix of every JWT header, not a token\n",
    "-- SELECT * FROM users WHERE name = 'AKIA';\n",
    "b64 = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo='\n",
)
