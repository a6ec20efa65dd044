"""A real PostgreSQL 15 standing in for a restored Flexible Server, set up the way Azure's is.

The fake ARM reports a restored server's host name as 127.0.0.1; this server answers
there. Like a Flexible Server it accepts only TLS (``ssl = on``, ``hostssl`` lines only in
pg_hba.conf, no ``host`` line), SCRAM-SHA-256 passwords, an admin login whose password is
the Key Vault secret and a login for the Microsoft Entra principal whose password is its
access token (the fake credential's token), as Azure's Entra authentication takes it.
The certificate is self-signed and made here. It holds the application's data
(``app.events``), so a restore's verification queries count real rows.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from augeoctl.local import tools
from augeoctl.local.privileges import as_service, chown_tree
from tests.conftest import make_home
from tests.fakearm.server import self_signed

ADMIN = "augeoadmin"  # password: the Key Vault secret
ENTRA_USER = "augeo-ops"  # password: the Entra access token
DATABASE = "augeo"
ROWS = 2000


@dataclass
class StandIn:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        proc = subprocess.run(
            as_service([tools.pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.folder),
                        "-p", str(self.port), "-U", "postgres", "-d", dbname, "-Atc", sql]),
            capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"psql failed: {proc.stderr}")
        return proc.stdout.strip()

    def stop(self) -> None:
        subprocess.run(as_service([tools.pg_tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(admin_password: str, token: str) -> StandIn:
    """Start the stand-in; the caller stops it."""
    folder = make_home("augeo-standin-")
    server = StandIn(folder, _free_port())
    cert, key = self_signed(folder)
    chown_tree(folder)
    proc = subprocess.run(as_service([tools.pg_tool("initdb"), "-D", str(server.data), "-U", "postgres",
                                      "--auth-local=trust", "--auth-host=reject", "-E", "UTF8"]),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shutil.copy(cert, server.data / "server.crt")
    shutil.copy(key, server.data / "server.key")
    (server.data / "server.key").chmod(0o600)
    with open(server.data / "postgresql.conf", "a") as conf:
        conf.write(f"listen_addresses = '127.0.0.1'\nport = {server.port}\n"
                   f"unix_socket_directories = '{folder}'\nssl = on\n"
                   "password_encryption = 'scram-sha-256'\nfsync = off\n")  # pragma: allowlist secret (a setting's name)
    # TCP only over TLS, only SCRAM; the local socket is the fixture's own way in.
    (server.data / "pg_hba.conf").write_text(
        "local all postgres trust\n"
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0 reject\n")
    chown_tree(folder)
    proc = subprocess.run(as_service([tools.pg_tool("pg_ctl"), "-D", str(server.data), "-w", "-t", "60",
                                      "-l", str(folder / "log"), "start"]),
                          capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr + (folder / "log").read_text()
    admin_sql = admin_password.replace("'", "''")
    server.psql(f"CREATE ROLE {ADMIN} LOGIN PASSWORD '{admin_sql}';"
                f"CREATE ROLE \"{ENTRA_USER}\" LOGIN PASSWORD '{token}';")
    server.psql(f"CREATE DATABASE {DATABASE} OWNER {ADMIN}")
    server.psql("CREATE SCHEMA app AUTHORIZATION augeoadmin;"
                "CREATE TABLE app.events (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),"
                " payload text NOT NULL);"
                f"INSERT INTO app.events (payload) SELECT 'event ' || g FROM generate_series(1, {ROWS}) g;"
                "ALTER TABLE app.events OWNER TO augeoadmin;"
                f"GRANT USAGE ON SCHEMA app TO \"{ENTRA_USER}\";"
                f"GRANT SELECT ON ALL TABLES IN SCHEMA app TO \"{ENTRA_USER}\";", dbname=DATABASE)
    return server
