"""A second corpus of secrets, built from providers' documented token formats, not from our rules.

Each kind is a token generated in its provider's published format (prefix, alphabet, length), written
where such a secret is met in practice: a shell command, a config file, a code literal. Several kinds
have no rule of their own in instrumentation/redaction/redact.py (Databricks, DigitalOcean, Shopify, Mailgun, Heroku,
Okta, Linear, Doppler, Twilio auth tokens, kubeconfig tokens, mysql passwords): only the generic
context and entropy rules can catch them, which is the point. The issue that asked for this corpus
listed the kinds that leaked: npm, PyPI, Hugging Face, SendGrid, Twilio auth token, Azure AccountKey,
``Authorization: Bearer`` in a command, kubeconfig ``token:``, ``mysql -p'...'``, ``.npmrc``
``_authToken=``, ``export SECRET=<40 hex>``, a Google key ending in ``-``.
"""

from __future__ import annotations

import base64
import hashlib

from tests.support.secrets_corpus import ALNUM, Planted

HEX = "0123456789abcdef"
LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
URLSAFE = ALNUM + "-_"


def _chars(seed: str, n: int, alphabet: str) -> str:
    out: list[str] = []
    counter = 0
    while len(out) < n:
        digest = hashlib.blake2b(f"{seed}/{counter}".encode(), digest_size=64).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:n])


def _pypi(seed: str) -> str:
    """A PyPI API token: ``pypi-`` + a base64url macaroon whose first bytes encode ``pypi.org``."""
    macaroon = b"\x02\x01\x08pypi.org\x02" + hashlib.sha512(seed.encode()).digest() * 2
    return "pypi-" + base64.urlsafe_b64encode(macaroon).decode().rstrip("=")


def _secret(kind: str, seed: str) -> tuple[str, str]:
    parts = iter(range(100))

    def c(n: int, alphabet: str = ALNUM) -> str:  # each call draws a new part of this secret
        return _chars(f"{kind}:{seed}:{next(parts)}", n, alphabet)

    if kind == "npm_standalone":
        token = "npm_" + c(36)
        return f"echo {token} | npm login --auth-type=legacy", token
    if kind == "npmrc":
        token = "npm_" + c(36)
        return f"//registry.npmjs.org/:_authToken={token}\n", token
    if kind == "pypi":
        token = _pypi(seed)
        return f"uv publish --token {token}", token
    if kind == "huggingface":
        token = "hf_" + c(34, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        return f"huggingface-cli login --token {token}", token
    if kind == "sendgrid":
        token = f"SG.{c(22, URLSAFE)}.{c(43, URLSAFE)}"
        return f'sg = SendGridAPIClient("{token}")', token
    if kind == "twilio_auth_token":
        token = c(32, HEX)
        return f"\nexport TWILIO_AUTH_TOKEN={token}\n", token
    if kind == "twilio_literal":
        token = c(32, HEX)
        return f'auth_token = "{token}"', token
    if kind == "azure_storage":
        key = base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()
        return (
            f"DefaultEndpointsProtocol=https;AccountName=acct{c(6, LOWER_ALNUM)};AccountKey={key};"
            "EndpointSuffix=core.windows.net",
            key,
        )
    if kind == "bearer_in_command":
        token = c(40, URLSAFE)
        return f'curl -s -H "Authorization: Bearer {token}" https://api.example.test/v1/me', token
    if kind == "kubeconfig":
        token = f"{c(6, LOWER_ALNUM)}.{c(16, LOWER_ALNUM)}"
        return f"users:\n- name: admin\n  user:\n    token: {token}\n", token
    if kind == "mysql_quoted":
        password = c(10) + "!#%" + c(4)
        return f"mysql -h db.internal -u root -p'{password}' app < dump.sql", password
    if kind == "export_secret_hex":
        value = c(40, HEX)
        return f"\nexport SECRET={value}\n", value
    if kind == "google_dash":
        key = "AIza" + c(34, URLSAFE) + "-"
        return f"https://maps.googleapis.com/maps/api/geocode/json?address=x&key={key}", key
    if kind == "databricks":
        token = "dapi" + c(32, HEX)
        return f"DATABRICKS_TOKEN={token} databricks clusters list", token
    if kind == "digitalocean":
        token = "dop_v1_" + c(64, HEX)
        return f"doctl auth init -t {token}", token
    if kind == "shopify":
        token = "shpat_" + c(32, HEX)
        return f"X-Shopify-Access-Token: {token}", token
    if kind == "mailgun":
        key = "key-" + c(32, HEX)
        return f"curl -s --user 'api:{key}' https://api.mailgun.net/v3/x/messages", key
    if kind == "heroku":
        u = c(32, HEX)
        key = f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
        return f"\nHEROKU_API_KEY={key}\n", key
    if kind == "okta":
        token = "00" + c(40, URLSAFE)
        return f'curl -H "Authorization: SSWS {token}" https://dev.okta.test/api/v1/users', token
    if kind == "linear":
        token = "lin_api_" + c(40)
        return f'client = LinearClient(api_key="{token}")', token
    if kind == "doppler":
        token = "dp.st.prd." + c(40)
        return f"doppler run --token {token} -- ./serve", token
    raise KeyError(kind)


KINDS = (
    "npm_standalone", "npmrc", "pypi", "huggingface", "sendgrid", "twilio_auth_token", "twilio_literal",
    "azure_storage", "bearer_in_command", "kubeconfig", "mysql_quoted", "export_secret_hex", "google_dash",
    "databricks", "digitalocean", "shopify", "mailgun", "heroku", "okta", "linear", "doppler",
)  # fmt: skip


def planted(kind: str, seed: str) -> Planted:
    text, core = _secret(kind, seed)
    return Planted(kind, text, core)
