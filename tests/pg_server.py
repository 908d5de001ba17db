"""A throwaway PostgreSQL server for the tests: a new cluster in a temporary folder, listening on a
free port on 127.0.0.1 only, with a password-protected role; stopped and deleted at the end.

The system's own cluster is never touched. initdb refuses to run as root, so as root the server
runs as the ``postgres`` OS user (created by Debian's ``postgresql`` package) through ``runuser``.
When no server binaries are found, ``tests/system_deps.sh`` installs them.

Test modules use it with ``pytest_plugins = ["pg_server"]`` so that one server serves the session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

HERE = Path(__file__).resolve().parent
ADMIN = "ca_admin"
READER, READER_PASSWORD = "ca_reader", "s3cret-Reader-pw-7f2a"
DATABASE = "shop"


def server_bin() -> Path:
    """The folder holding initdb and pg_ctl (installing Debian's postgresql package if needed)."""
    for attempt in range(2):
        found = shutil.which("initdb")
        if found:
            return Path(found).resolve().parent
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"),
            key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        )
        if versions:
            return Path(versions[-1]).parent
        if attempt == 0:
            subprocess.run(["bash", str(HERE / "system_deps.sh")], check=True)
    raise RuntimeError(
        "PostgreSQL server binaries not found after tests/system_deps.sh; install Debian's postgresql."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgServer:
    folder: Path
    bin: Path
    port: int
    admin_password: str
    host: str = "127.0.0.1"

    # ------------------------------------------------------------------ lifecycle

    def _as_owner(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + args, capture_output=True, text=True, **kwargs)

    @classmethod
    def start(cls) -> PgServer:
        folder = Path(tempfile.mkdtemp(prefix="ca-pg-"))
        server = cls(folder=folder, bin=server_bin(), port=0, admin_password=os.urandom(12).hex())
        if os.geteuid() == 0:  # the server runs as postgres: the folder must be its own
            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        os.chmod(folder, 0o700)
        pwfile = folder / "pw"
        pwfile.write_text(server.admin_password + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        init = server._as_owner(
            [
                str(server.bin / "initdb"),
                "-D",
                str(folder / "data"),
                "-U",
                ADMIN,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        if init.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
        for _ in range(5):  # another process may take the free port between the probe and the start
            server.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = server._as_owner(
                [
                    str(server.bin / "pg_ctl"),
                    "-D",
                    str(folder / "data"),
                    "-l",
                    str(folder / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
            if started.returncode == 0:
                break
        else:
            log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log[-500:]}")
        with server.admin() as db:
            db.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
            db.execute(f"CREATE DATABASE {DATABASE} OWNER {READER}")
        return server

    def stop(self) -> None:
        self._as_owner(
            [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"]
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------ access

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=ADMIN,
            password=self.admin_password,
            dbname=dbname,
            autocommit=True,
        )

    def reader(self) -> psycopg.Connection:
        """A connection as the test role to the test database (what the project reads with)."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=READER,
            password=READER_PASSWORD,
            dbname=DATABASE,
            autocommit=True,
        )

    def url(self, password: str = READER_PASSWORD, host: str | None = None, port: int | None = None) -> str:
        return f"postgres://{READER}:{password}@{host or self.host}:{port or self.port}/{DATABASE}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    server = PgServer.start()
    try:
        yield server
    finally:
        server.stop()


def load_cdnow(server: PgServer, text: str, table: str = "orders") -> int:
    """Load CDNOW lines (whitespace format, header first) into a typed table, as a shop's database
    would hold them: text ids (leading zeros), a DATE, an integer quantity and a NUMERIC amount."""
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    with server.reader() as db:
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(
            f"CREATE TABLE {table} (customer_id text, order_date date, number_of_cds integer, "
            "dollar_value numeric(10, 2))"
        )
        with db.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            for cid, day, cds, dollars in rows:
                copy.write_row((cid, f"{day[:4]}-{day[4:6]}-{day[6:]}", int(cds), dollars))
    return len(rows)
