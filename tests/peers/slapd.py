"""A private OpenLDAP ``slapd`` on free ports: its own slapd.conf, a small directory
loaded with ``slapadd``, StartTLS and LDAPS with a test CA, and ``ldapmodify`` /
``ldapdelete`` to change the directory under a running test.

The directory (``dc=example,dc=com``)::

    ou=people   alice (operators), bob (readers), carol (unmapped only),
                dave (readers, disabled: employeeType=disabled), frank and
                grace (readers; tests disable or delete them), "smith, j" and
                "j*(doe)" (readers; names that need RFC 4514 / 4515 escaping)
    ou=services cn=edgeward (the search-then-bind service account)
    ou=groups   operators, readers, unmapped (groupOfNames)

The server is configured to *accept* unauthenticated binds (``allow
bind_anon_cred``), as some directories do, so a test proves that the cloud
never sends one rather than relying on this server to refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

from edgeward.harness.processes import ChildProcess
from tests.peers import require_program
from tests.peers.mosquitto import Certificates, free_port, make_certificates

SUFFIX = "dc=example,dc=com"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=edgeward,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
OPERATORS = f"cn=operators,{GROUPS}"
READERS = f"cn=readers,{GROUPS}"
UNMAPPED = f"cn=unmapped,{GROUPS}"
# The filter an account uses so that disabled users are left out.
USER_FILTER = "(&(objectClass=inetOrgPerson)(uid={username})(!(employeeType=disabled)))"
DN_TEMPLATE = f"uid={{username}},{PEOPLE}"

# uid -> (password, RDN value as written in the DN, disabled)
USERS = {
    "alice": ("alice-pass", "alice", False),
    "bob": ("bob-pass", "bob", False),
    "carol": ("carol-pass", "carol", False),
    "dave": ("dave-pass", "dave", True),
    "frank": ("frank-pass", "frank", False),
    "grace": ("grace-pass", "grace", False),
    "smith, j": ("smith-pass", r"smith\, j", False),
    "j*(doe)": ("doe-pass", "j*(doe)", False),
}
MEMBERS = {
    OPERATORS: ["alice"],
    READERS: ["bob", "dave", "frank", "grace", "smith, j", "j*(doe)"],
    UNMAPPED: ["carol", "alice"],
}


def user_dn(uid: str) -> str:
    return f"uid={USERS[uid][1]},{PEOPLE}"


def ssha(password: str) -> str:
    """An RFC 2307 ``{SSHA}`` userPassword value, as slappasswd makes them."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _ldif() -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: {SERVICE_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\n"
        f"cn: edgeward\nsn: service\nuserPassword: {ssha(SERVICE_PASSWORD)}",
    ]
    for uid, (password, _, disabled) in USERS.items():
        block = (
            f"dn: {user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n"
            f"mail: {uid.replace(' ', '').replace(',', '')}@corp.example\n"
            f"userPassword: {ssha(password)}"
        )
        if disabled:
            block += "\nemployeeType: disabled"
        blocks.append(block)
    for group, uids in MEMBERS.items():
        members = "\n".join(f"member: {user_dn(uid)}" for uid in uids)
        name = group.split(",")[0].split("=")[1]
        blocks.append(f"dn: {group}\nobjectClass: groupOfNames\ncn: {name}\n{members}")
    return "\n\n".join(blocks) + "\n"


class Slapd:
    """``start``/``stop`` keep the ports and data, so a restart is the same directory back."""

    def __init__(self, directory: Path) -> None:
        self.slapd = require_program("slapd", "slapd")
        self.slapadd = require_program("slapadd", "slapd")
        self.ldapmodify = require_program("ldapmodify", "ldap-utils")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "data").mkdir(exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port()
        self.certificates: Certificates = make_certificates(directory)
        self.config = directory / "slapd.conf"
        self._process: ChildProcess | None = None
        self._write_config()
        self._load()

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def _write_config(self) -> None:
        schema = Path("/etc/ldap/schema")
        lines = [
            *(f"include {schema / name}.schema" for name in ("core", "cosine", "inetorgperson")),
            f"pidfile {self.directory / 'slapd.pid'}",
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
            "allow bind_anon_cred",
            f"TLSCACertificateFile {self.certificates.ca_file}",
            f"TLSCertificateFile {self.certificates.cert_file}",
            f"TLSCertificateKeyFile {self.certificates.key_file}",
            "database mdb",
            f'suffix "{SUFFIX}"',
            f'rootdn "{ROOT_DN}"',
            f"rootpw {ROOT_PASSWORD}",
            f"directory {self.directory / 'data'}",
            "maxsize 10485760",
            "access to attrs=userPassword by anonymous auth by * none",
            "access to * by users read by * none",
        ]
        self.config.write_text("\n".join(lines) + "\n")

    def _load(self) -> None:
        ldif = self.directory / "directory.ldif"
        ldif.write_text(_ldif())
        subprocess.run(
            [self.slapadd, "-f", str(self.config), "-l", str(ldif)],
            check=True,
            capture_output=True,
        )

    def start(self) -> Slapd:
        urls = f"{self.url}/ {self.ldaps_url}/"
        # -d keeps slapd in the foreground (a child the test can stop); 0: quiet.
        args = ["-d", "0", "-f", str(self.config), "-h", urls]
        log = self.directory / "slapd.log"
        self._process = ChildProcess("slapd", args, log, program=self.slapd).start()
        self._process.wait_for(self._listening, f"slapd on port {self.port}", timeout=15.0)
        return self

    def _listening(self) -> bool:
        try:
            for port in (self.port, self.tls_port):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(timeout=10)
            self._process = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel's backlog), nothing answers."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)

    def modify(self, ldif: str) -> None:
        """Change the running directory as its administrator (``ldapmodify``)."""
        subprocess.run(
            [self.ldapmodify, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif.encode(),
            check=True,
            capture_output=True,
        )

    def disable(self, uid: str) -> None:
        self.modify(
            f"dn: {user_dn(uid)}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n"
        )

    def leave(self, uid: str, group: str) -> None:
        self.modify(f"dn: {group}\nchangetype: modify\ndelete: member\nmember: {user_dn(uid)}\n")

    def delete(self, uid: str) -> None:
        self.modify(f"dn: {user_dn(uid)}\nchangetype: delete\n")

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def directory_settings(slapd: Slapd, **overrides: object) -> dict[str, object]:
    """A ``PUT /v1/directory`` body for this server: direct bind, plain LDAP on loopback,
    operators -> admin, readers -> reading readings and data sources."""
    body: dict[str, object] = {
        "url": slapd.url,
        "tls": "none",
        "base_dn": SUFFIX,
        "user_filter": USER_FILTER,
        "bind": {"method": "direct", "dn_template": DN_TEMPLATE},
        "groups": {"base_dn": GROUPS},
        "mapping": [
            {"group": OPERATORS, "role": "admin"},
            {"group": READERS, "grants": {"readings": ["GET"], "data-sources": ["GET"]}},
        ],
    }
    body.update(overrides)
    return body


def search_bind() -> dict[str, str]:
    """The ``bind`` of search-then-bind with this directory's service account."""
    return {"method": "search", "service_dn": SERVICE_DN, "service_password": SERVICE_PASSWORD}
