"""vcsim, the govmomi vCenter simulator, as a real test backend on 127.0.0.1.

The binary comes from `scripts/build-vcsim.sh` (Debian's govmomi sources and the project's
launcher in `tests/backends/vcsim-launcher/main.go`, built once and cached under `.tools/vcsim/`).
Each server gets its own TLS certificate for 127.0.0.1, signed by a throwaway CA whose PEM file
tests pass as `ca_file`, so certificate checking stays on. Login needs the username and password
the server was started with (vcsim accepts any login without them).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-vcsim.sh"
USERNAME = "homeport-test"


@dataclass
class VcsimServer:
    """A running vcsim: where it listens, how to log in, and the CA that signed its certificate."""

    url: str
    host: str
    port: int
    username: str
    password: str
    ca_file: Path
    process: subprocess.Popen[str]
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """The endpoint as a homeport.yaml would name it."""
        return f"https://{self.host}:{self.port}/sdk"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def build_vcsim() -> Path:
    """Build (or reuse) the vcsim launcher; fails with the remedy when Go or govmomi is missing."""
    if not BUILD_SCRIPT.exists():
        raise RuntimeError(f"{BUILD_SCRIPT} is missing")
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            "could not build vcsim (run scripts/install-test-deps.sh for golang-go and "
            f"golang-github-vmware-govmomi-dev):\n{result.stderr[-3000:]}"
        )
    return Path(result.stdout.strip().splitlines()[-1])


def write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost: (ca.pem, server.pem, server-key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "homeport test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server-key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return ca_file, cert_file, key_file


@contextmanager
def run_vcsim(
    directory: Path,
    *,
    vms_per_pool: int = 2,
    clusters: int = 1,
    hosts_per_cluster: int = 3,
    standalone_hosts: int = 1,
    datastores: int = 1,
    autostart: bool = True,
    method_delay: dict[str, int] | None = None,
    esx: bool = False,
    start_timeout: float = 60.0,
) -> Iterator[VcsimServer]:
    """Start vcsim on 127.0.0.1 (free port) with a username, password and own certificate; stop it after."""
    binary = build_vcsim()
    ca_file, cert_file, key_file = write_tls_files(directory / "tls")
    password = secrets.token_urlsafe(16)
    log_file = directory / "vcsim.log"
    args = [
        str(binary),
        "-l",
        "127.0.0.1:0",
        "-username",
        USERNAME,
        "-password",
        password,
        "-tlscert",
        str(cert_file),
        "-tlskey",
        str(key_file),
        "-vm",
        str(vms_per_pool),
        "-cluster",
        str(clusters),
        "-host",
        str(hosts_per_cluster),
        "-standalone-host",
        str(standalone_hosts),
        "-ds",
        str(datastores),
        f"-autostart={'true' if autostart else 'false'}",
    ]
    if esx:
        args.append("-esx")
    if method_delay:
        args += ["-method-delay", ",".join(f"{name}={ms}" for name, ms in method_delay.items())]
    env = dict(os.environ, TMPDIR=str(directory))
    with log_file.open("w") as log:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    server: VcsimServer | None = None
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + start_timeout
        url = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("VCSIM_URL="):
                url = line.strip().split("=", 1)[1]
                break
            if not line and process.poll() is not None:
                break
        if not url:
            process.kill()
            raise RuntimeError(f"vcsim did not start; its log:\n{log_file.read_text()[-3000:]}")
        hostport = url.split("://", 1)[1].split("/", 1)[0]
        host, port = hostport.rsplit(":", 1)
        server = VcsimServer(
            url=url,
            host=host,
            port=int(port),
            username=USERNAME,
            password=password,
            ca_file=ca_file,
            process=process,
            log_file=log_file,
        )
        yield server
    finally:
        if server is not None:
            server.stop()
        elif process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
