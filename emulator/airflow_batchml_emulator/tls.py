"""A self-signed certificate for the emulator's HTTPS listener.

azure-ai-ml refuses plain-HTTP resource-manager URLs for some calls and real clients verify TLS, so the
emulator serves HTTPS with a certificate it makes for itself; the hook trusts it through the connection's
``ca_bundle``. It is reused across restarts so that connections written earlier stay valid.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID_DAYS = 825


def ensure_certificate(
    tls_dir: Path, public_host: str = "127.0.0.1", extra_names: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """Return ``(cert.pem, key.pem)`` in ``tls_dir``, creating them when missing or not valid for the host.

    :param extra_names: further DNS names (wildcards allowed) the certificate must cover, such as the
        storage proxy's ``*.blob.<suffix>``.
    """
    cert_path, key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
    wanted = _wanted_names(public_host) | set(extra_names)
    if cert_path.exists() and key_path.exists() and _names(cert_path) >= wanted:
        return cert_path, key_path
    tls_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key, public_host, extra_names)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _wanted_names(public_host: str) -> set[str]:
    return {"127.0.0.1", "localhost", public_host}


def _names(cert_path: Path) -> set[str]:
    """The host names and addresses a stored certificate is valid for."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n) for n in names.get_values_for_type(x509.IPAddress)} | set(names.get_values_for_type(x509.DNSName))


def _alternative_names(public_host: str, extra_names: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    if public_host not in ("127.0.0.1", "localhost"):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(public_host)))
        except ValueError:
            names.append(x509.DNSName(public_host))
    names += [x509.DNSName(name) for name in extra_names]
    return names


def _self_signed(key: ec.EllipticCurvePrivateKey, public_host: str, extra_names: tuple[str, ...]) -> x509.Certificate:
    """A CA-flagged self-signed cert for 127.0.0.1, localhost, the public host and ``extra_names`` (strict
    OpenSSL accepts it)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airflow-batchml emulator")])
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(_alternative_names(public_host, extra_names)),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
