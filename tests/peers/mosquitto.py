"""A private ``mosquitto`` on a free port: its own config, a password file, and TLS
with a CA and server certificate made here with ``cryptography``."""

from __future__ import annotations

import datetime
import getpass
import ipaddress
import secrets
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edgeward.harness.processes import ChildProcess
from tests.peers import require_program

USERNAME = "gateway"
PASSWORD = "s3cret-pass"


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: Path) -> Certificates:
    """A CA, and a server certificate it signed for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("edgeward test CA"))
        .issuer_name(_name("edgeward test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key_file.chmod(0o600)
    return files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mosquitto:
    """``start``/``stop`` keep the port, so a restart looks like the same broker rebooting."""

    def __init__(self, directory: Path, *, tls: bool = True) -> None:
        self.mosquitto = require_program("mosquitto", "mosquitto")
        self.passwd = require_program("mosquitto_passwd", "mosquitto")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.certificates = make_certificates(directory) if tls else None
        self.config = directory / "mosquitto.conf"
        self._process: ChildProcess | None = None
        self._write_config()

    def _write_config(self) -> None:
        password_file = self.directory / "passwd"
        subprocess.run(
            [self.passwd, "-c", "-b", str(password_file), USERNAME, PASSWORD],
            check=True,
            capture_output=True,
        )
        password_file.chmod(0o600)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {password_file}",
            "persistence false",
            # Run as whoever runs the tests, so it can read the files made here.
            f"user {getpass.getuser()}",
            "log_type error",
            "log_type warning",
        ]
        if self.certificates is not None:
            lines += [
                f"cafile {self.certificates.ca_file}",
                f"certfile {self.certificates.cert_file}",
                f"keyfile {self.certificates.key_file}",
            ]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> Mosquitto:
        self._process = ChildProcess(
            "mosquitto",
            ["-c", str(self.config)],
            self.directory / "mosquitto.log",
            program=self.mosquitto,
        ).start()
        self._process.wait_for(self._listening, f"mosquitto on port {self.port}", timeout=10.0)
        return self

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(timeout=10)
            self._process = None

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def publisher(mosquitto: Mosquitto) -> Iterator[paho.Client]:
    """A connected MQTT client of the test user, over the broker's TLS."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{secrets.token_hex(4)}")
    client.username_pw_set(USERNAME, PASSWORD)
    assert mosquitto.certificates is not None
    client.tls_set(
        ca_certs=str(mosquitto.certificates.ca_file), tls_version=ssl.PROTOCOL_TLS_CLIENT
    )
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish(client: paho.Client, topic: str, payload: bytes) -> None:
    client.publish(topic, payload, qos=1).wait_for_publish(10)
