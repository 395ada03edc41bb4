"""Planted secrets (realistic shapes, unique per use) and ordinary code that must pass untouched."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass


def _chars(seed: str, n: int, alphabet: str) -> str:
    out = []
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


GENERATORS: dict[str, Callable[[str], Planted]] = {
    "aws_access_key_id": lambda s: (
        (k := "AKIA" + _chars(s, 16, UPPER_DIGITS)) and Planted("aws_access_key_id", k, k)
    ),
    "aws_secret_access_key": lambda s: (
        (v := _chars(s, 40, B64)) and Planted("aws_secret_access_key", f"aws_secret_access_key = {v}", v)
    ),
    "github_token": lambda s: (t := "ghp_" + _chars(s, 36, ALNUM)) and Planted("github_token", t, t),
    "github_pat": lambda s: (t := "github_pat_" + _chars(s, 82, ALNUM + "_")) and Planted("github_pat", t, t),
    "anthropic_key": lambda s: (
        (t := "sk-ant-api03-" + _chars(s, 93, ALNUM + "-_") + "AA") and Planted("anthropic_key", t, t)
    ),
    "openai_key": lambda s: (t := "sk-proj-" + _chars(s, 48, ALNUM + "-_")) and Planted("openai_key", t, t),
    "openai_legacy_key": lambda s: (t := "sk-" + _chars(s, 48, ALNUM)) and Planted("openai_legacy_key", t, t),
    "jwt": lambda s: (t := _jwt(s)) and Planted("jwt", t, t.rsplit(".", 1)[1]),
    "private_key": lambda s: (p := _pem(s)) and Planted("private_key", "\n" + p[0] + "\n", p[1]),
    "url_password": lambda s: (
        (pw := _chars(s, 18, ALNUM))
        and Planted("url_password", f"postgresql://deploy:{pw}@db.internal:5432/app", pw)
    ),
    "env_line": lambda s: (
        (v := _chars(s, 24, ALNUM)) and Planted("env_line", f"\nDATABASE_PASSWORD={v}\n", v)
    ),
    "env_export": lambda s: (
        (v := _chars(s, 32, ALNUM)) and Planted("env_export", f"\nexport STRIPE_API_KEY={v}\n", v)
    ),
}
KINDS = tuple(GENERATORS)


def planted(kind: str, seed: str) -> Planted:
    return GENERATORS[kind](seed)


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
