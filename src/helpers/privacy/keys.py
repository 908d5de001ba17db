"""Secrets from environment variables (never from params files, products or reports) and what is
derived from them: a key per purpose (HKDF-SHA256, so the Parquet key-encryption key, the Fernet key
and the erasure hashes never share bytes), a short fingerprint that tells two keys apart without
revealing either, and keyed hashes of customer ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

MIN_SECRET_CHARS = 16
SALT = b"customer-analytics"


class KeyMissing(RuntimeError):
    """A privacy setting needs a secret that the environment does not hold (or holds too short)."""


def secret(env: str, setting: str) -> bytes:
    """The secret in environment variable ``env``, which ``setting`` (e.g. ``privacy.encrypt_products``)
    needs; one sentence when it is not set or shorter than 16 characters."""
    value = os.environ.get(env, "")
    if len(value) < MIN_SECRET_CHARS:
        raise KeyMissing(
            f"{setting} is on but environment variable {env} is {'too short' if value else 'not set'}; "
            f"export a secret of at least {MIN_SECRET_CHARS} characters."
        )
    return value.encode("utf-8")


def derive(secret_bytes: bytes, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose (``parquet``, ``fernet``, ``fingerprint``) from the secret: HKDF-SHA256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=SALT, info=purpose.encode()).derive(
        secret_bytes
    )


def fingerprint(secret_bytes: bytes) -> str:
    """Twelve hex digits that differ between two secrets and say nothing about either: written next to
    encrypted data so that a wrong key is named as such, not as damaged data."""
    return derive(secret_bytes, "fingerprint", 6).hex()


def fernet_key(secret_bytes: bytes) -> bytes:
    """The Fernet key (url-safe base64 of 32 derived bytes)."""
    return base64.urlsafe_b64encode(derive(secret_bytes, "fernet"))


def keyed_hash(secret_bytes: bytes, value: str, purpose: str = "") -> str:
    """HMAC-SHA256 of a customer id, hex, first 32 digits. Without ``purpose`` it is the pseudonym
    ingest gives the id; with one (``erasure``) a different hash of the same id, so that an audit line
    or an erasure list never holds a pseudonym that a product held."""
    message = (f"{purpose}\x00{value}" if purpose else value).encode("utf-8")
    return hmac.new(secret_bytes, message, hashlib.sha256).hexdigest()[:32]
