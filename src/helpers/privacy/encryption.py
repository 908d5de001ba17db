"""Encryption at rest, offline, with a key from the environment.

- Parquet products: Parquet modular encryption (pyarrow, AES-GCM, footer and every column encrypted,
  so not even the schema is readable without the key). Each file gets its own data key, wrapped
  (AES-GCM) by a key derived from the secret; the wrapped key is stored in the file with the name of
  the environment variable and the secret's fingerprint, so a reader needs no params to decrypt, and a
  wrong or missing key is one sentence instead of "damaged file".
- Other files (JSON products, exported CSV and Excel lists): Fernet (AES-128-CBC + HMAC-SHA256) from
  ``cryptography``, behind a one-line header naming the variable and the fingerprint.

DuckDB cannot read files encrypted by pyarrow's key management, so encrypted Parquet products are
decrypted by pyarrow into memory (Arrow) and handed to the engine from there (``helpers.io``).

A product path that must be written encrypted is a :class:`ProtectedPath` (what the stage catalog
hands a notebook when ``privacy.encrypt_products`` is on); ``helpers.io`` writes it encrypted and reads
any encrypted file transparently, whatever path it is given.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from helpers.privacy import keys

PARQUET_MAGIC = b"PARE"  # a Parquet file with an encrypted footer starts and ends with it (not PAR1)
FERNET_MAGIC = b"CA-ENCRYPTED fernet "  # + "<variable> <fingerprint>\n" + the Fernet token
ENCRYPTED_SUFFIX = ".enc"  # an encrypted export: priority_list.csv.enc
IDENTIFIER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,99}):([0-9a-f]{12})$")  # "<variable>:<fingerprint>"


class EncryptionError(RuntimeError):
    """An encrypted file cannot be read or written with the key at hand; the message says which key."""


@dataclass(frozen=True)
class Protection:
    """How a file is to be encrypted: with the secret in environment variable ``key_env``, which the
    params ``setting`` asked for (named in messages)."""

    key_env: str
    setting: str = "privacy.encrypt_products"

    def secret(self) -> bytes:
        try:
            return keys.secret(self.key_env, self.setting)
        except keys.KeyMissing as exc:
            raise EncryptionError(str(exc)) from None

    def identifier(self) -> str:
        """What is written next to the ciphertext: the variable's name and the key's fingerprint."""
        return f"{self.key_env}:{keys.fingerprint(self.secret())}"


class ProtectedPath(type(Path())):
    """A path whose file must be written encrypted: ``protection`` says with which key. Paths derived
    from it (``with_name``, ``/``) are plain paths again; only the path the catalog handed out carries it."""

    protection: Protection | None = None


def protect(path: Path, protection: Protection | None) -> Path:
    """``path`` marked to be written encrypted with ``protection`` (unchanged when it is None)."""
    if protection is None:
        return Path(path)
    marked = ProtectedPath(path)
    marked.protection = protection
    return marked


def protection_of(path: Path) -> Protection | None:
    return getattr(path, "protection", None)


# ------------------------------------------------------------------------------------ recognising


def encrypted_kind(path: Path) -> str | None:
    """``parquet`` or ``fernet`` when the file is encrypted by this module, else None (its first bytes)."""
    with open(path, "rb") as handle:
        head = handle.read(len(FERNET_MAGIC))
    if head[:4] == PARQUET_MAGIC:
        return "parquet"
    if head == FERNET_MAGIC:
        return "fernet"
    return None


def _key_for(identifier: str, where: str, older: tuple[bytes, ...] = ()) -> bytes:
    """The secret named by an identifier written with the data, checked against its fingerprint; one of
    ``older`` (the previous key, while the key is rotated) when it is the one the data was written with."""
    match = IDENTIFIER.match(identifier)
    if not match:
        raise EncryptionError(
            f"{where}: encrypted by another tool (key '{identifier}'); it cannot be read here."
        )
    env, written = match.groups()
    for secret in older:
        if keys.fingerprint(secret) == written:
            return secret
    value = os.environ.get(env, "")
    if not value:
        raise EncryptionError(
            f"{where}: encrypted with the key in environment variable {env}, which is not set; export the "
            "key it was written with."
        )
    if keys.fingerprint(value.encode("utf-8")) != written:
        raise EncryptionError(
            f"{where}: encrypted with another key than the one now in {env} (fingerprint {written}, the key "
            f"set has {keys.fingerprint(value.encode('utf-8'))}); export the key it was written with."
        )
    return value.encode("utf-8")


# --------------------------------------------------------------------------------- Parquet files


def _crypto_factory(where: str, older: tuple[bytes, ...] = ()):
    """A pyarrow CryptoFactory whose key management wraps each file's data key with AES-GCM under a key
    derived from the secret (a fresh factory per call: no key is cached beyond one file)."""
    import pyarrow.parquet.encryption as pe
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    class EnvironmentKms(pe.KmsClient):
        def __init__(self, _config) -> None:
            pe.KmsClient.__init__(self)

        def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
            kek = keys.derive(_key_for(master_key_identifier, where), "parquet")
            nonce = os.urandom(12)
            sealed = AESGCM(kek).encrypt(nonce, key_bytes, master_key_identifier.encode())
            return base64.b64encode(nonce + sealed).decode("ascii")

        def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
            kek = keys.derive(_key_for(master_key_identifier, where, older), "parquet")
            raw = base64.b64decode(wrapped_key)
            try:
                return AESGCM(kek).decrypt(raw[:12], raw[12:], master_key_identifier.encode())
            except InvalidTag:
                raise EncryptionError(f"{where}: its key does not open it; the file is damaged.") from None

    return pe.CryptoFactory(lambda config: EnvironmentKms(config)), pe.KmsConnectionConfig()


def parquet_encryption(protection: Protection, where: str):
    """File encryption properties: AES-GCM, footer and all columns under one data key of this file."""
    import pyarrow.parquet.encryption as pe

    factory, connection = _crypto_factory(where)
    config = pe.EncryptionConfiguration(
        footer_key=protection.identifier(),
        uniform_encryption=True,
        encryption_algorithm="AES_GCM_V1",
        plaintext_footer=False,
        double_wrapping=False,
        cache_lifetime=dt.timedelta(seconds=1),
    )
    return factory.file_encryption_properties(connection, config)


def parquet_decryption(where: str, older: tuple[bytes, ...] = ()):
    import pyarrow.parquet.encryption as pe

    factory, connection = _crypto_factory(where, older)
    return factory.file_decryption_properties(
        connection, pe.DecryptionConfiguration(cache_lifetime=dt.timedelta(seconds=1))
    )


def write_parquet(batches: Iterable, schema, path: Path, protection: Protection) -> Path:
    """Record batches (or tables) written to an encrypted Parquet file, through a temporary file in the
    same folder, so a reader never sees half a file."""
    import pyarrow.parquet as pq

    properties = parquet_encryption(protection, str(path))
    tmp = path.with_name(f".{path.name}.tmp")
    with pq.ParquetWriter(tmp, schema, encryption_properties=properties) as writer:
        for batch in batches:
            writer.write(batch)
    tmp.replace(path)
    return path


def read_parquet(path: Path, columns: list[str] | None = None, older: tuple[bytes, ...] = ()):
    """An encrypted Parquet file as an Arrow table (the key named in the file, from the environment)."""
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns, decryption_properties=parquet_decryption(str(path), older))


def parquet_metadata(path: Path):
    """The file's metadata (row count, schema), decrypting the footer when needed."""
    import pyarrow.parquet as pq

    if encrypted_kind(path) == "parquet":
        return pq.ParquetFile(path, decryption_properties=parquet_decryption(str(path))).metadata
    return pq.ParquetFile(path).metadata


# ---------------------------------------------------------------------------------- other files


def seal(data: bytes, protection: Protection) -> bytes:
    """Bytes encrypted with Fernet behind the header naming the variable and the key's fingerprint."""
    from cryptography.fernet import Fernet

    secret = protection.secret()
    header = FERNET_MAGIC + f"{protection.key_env} {keys.fingerprint(secret)}\n".encode()
    return header + Fernet(keys.fernet_key(secret)).encrypt(data)


def unseal(blob: bytes, where: str, older: tuple[bytes, ...] = ()) -> bytes:
    """The bytes :func:`seal` encrypted; one sentence for a missing or wrong key or a damaged file."""
    from cryptography.fernet import Fernet, InvalidToken

    if not blob.startswith(FERNET_MAGIC) or b"\n" not in blob:
        raise EncryptionError(f"{where}: not a file encrypted by this project.")
    header, token = blob[len(FERNET_MAGIC) :].split(b"\n", 1)
    env, _, written = header.decode("ascii", "replace").partition(" ")
    secret = _key_for(f"{env}:{written}", where, older)
    try:
        return Fernet(keys.fernet_key(secret)).decrypt(token)
    except InvalidToken:
        raise EncryptionError(f"{where}: its key does not open it; the file is damaged.") from None


def write_sealed(data: bytes, path: Path, protection: Protection) -> Path:
    """``data`` encrypted into ``path`` (through a temporary file in the same folder)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(seal(data, protection))
    tmp.replace(path)
    return path


def read_bytes(path: Path) -> bytes:
    """A file's content, decrypted when it is encrypted by this module (Fernet)."""
    blob = Path(path).read_bytes()
    return unseal(blob, str(path)) if blob.startswith(FERNET_MAGIC) else blob


def plain_name(path: Path) -> Path:
    """An encrypted export's name without ``.enc`` (priority_list.csv.enc -> priority_list.csv)."""
    return path.with_name(path.name.removesuffix(ENCRYPTED_SUFFIX))


def memory_folder() -> str | None:
    """A memory-backed folder (Linux's /dev/shm) where a tool that can only write files (DuckDB's CSV
    writer) can write plaintext that is encrypted at once, so it never reaches a disk; None elsewhere."""
    folder = Path("/dev/shm")
    return str(folder) if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK) else None


def rewrap(path: Path, older: tuple[bytes, ...]) -> bool:
    """Re-encrypt a file written with one of the ``older`` keys under the key now in the variable it
    names (the key is rotated); False when it is already under the current key."""
    kind = encrypted_kind(path)
    try:  # under the current key already: nothing to do
        read_parquet(path) if kind == "parquet" else unseal(path.read_bytes(), str(path))
        return False
    except EncryptionError:
        pass
    if kind == "parquet":
        table = read_parquet(path, older=older)
        env = IDENTIFIER.match(_parquet_identifier(path)).group(1)
        write_parquet([table], table.schema, path, Protection(env))
    else:
        blob = path.read_bytes()
        env = blob[len(FERNET_MAGIC) :].split(b" ", 1)[0].decode("ascii")
        write_sealed(unseal(blob, str(path), older), path, Protection(env))
    return True


def _parquet_identifier(path: Path) -> str:
    """The key identifier ("<variable>:<fingerprint>") an encrypted Parquet file names, read as its key
    is looked up, before anything is decrypted."""
    import pyarrow.parquet as pq
    import pyarrow.parquet.encryption as pe

    seen = []

    class Recording(pe.KmsClient):
        def __init__(self, _config) -> None:
            pe.KmsClient.__init__(self)

        def wrap_key(self, key_bytes, master_key_identifier):  # never called when reading
            raise NotImplementedError

        def unwrap_key(self, wrapped_key, master_key_identifier):
            seen.append(master_key_identifier)
            raise EncryptionError("identifier read")

    factory = pe.CryptoFactory(lambda config: Recording(config))
    properties = factory.file_decryption_properties(pe.KmsConnectionConfig(), pe.DecryptionConfiguration())
    try:
        pq.ParquetFile(path, decryption_properties=properties)
    except EncryptionError:
        pass
    if not seen:
        raise EncryptionError(f"{path}: not a file encrypted by this project.")
    return seen[0]


def rotate(folders: list[Path], older: tuple[bytes, ...]) -> tuple[list[Path], list[Path]]:
    """Every encrypted file under ``folders`` put under the key now in the variable it names: those
    re-encrypted (they were under an ``older`` key) and those already under the current key."""
    rewrapped, current = [], []
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.name.endswith(".tmp") and encrypted_kind(path):
                (rewrapped if rewrap(path, older) else current).append(path)
    return rewrapped, current
