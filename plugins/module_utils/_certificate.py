# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The automation app's certificate credential: a private key and a self-signed certificate in one PEM file.

The file is what ``client_certificate_path`` (identity.py, msal) reads back: the private key (PKCS#8, encrypted when a
password is given) followed by the certificate. Entra only ever sees the certificate, uploaded as a keyCredential.
"""

from __future__ import annotations

import base64
import datetime
import os
import re
import traceback

from ansible_collections.mailoauth.sophos.plugins.module_utils.errors import MailOAuthError
from ansible_collections.mailoauth.sophos.plugins.module_utils.identity import write_private_file

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
except ImportError:  # pragma: no cover - reported through CRYPTOGRAPHY_IMPORT_ERROR
    x509 = None
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

UTC = datetime.timezone.utc


class CertificateError(MailOAuthError):
    service = "certificate file"


class LocalCertificate:
    """The key + certificate of one PEM file (read or freshly made)."""

    def __init__(self, certificate, pem):
        self.certificate = certificate
        self.pem = pem

    @property
    def der_base64(self):
        """The certificate as Graph's keyCredential.key wants it."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")

    @property
    def thumbprint(self):
        """SHA-1 thumbprint in hex, as the Entra admin centre shows it (and as x5t carries it)."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()  # nosec - a thumbprint, not a signature

    @property
    def expires(self):
        return self.certificate.not_valid_after_utc

    def valid_days_left(self, now=None):
        return (self.expires - (now or datetime.datetime.now(UTC))).total_seconds() / 86400

    def view(self):
        return {"thumbprint": self.thumbprint, "subject": self.certificate.subject.rfc4514_string(),
                "expires": self.expires.strftime("%Y-%m-%dT%H:%M:%SZ")}


def thumbprint_of(key_base64):
    """The SHA-1 thumbprint of a keyCredential's base64 DER certificate, or None when it is not one."""
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(key_base64 or ""))
    except ValueError:
        return None
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # nosec - a thumbprint, not a signature


def read_certificate_file(path, password=None):
    """The LocalCertificate in ``path``, None when the file does not exist, CertificateError when it is unusable."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        pem = handle.read()
    key_block = re.search(rb"-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----",
                          pem, re.S)
    cert_block = re.search(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    if not key_block or not cert_block:
        raise CertificateError("%s does not hold a private key and a certificate in PEM form" % path,
                               code="certificate_path",
                               hint="point certificate_path at a new file name to have one made, or remove the file")
    try:
        key = serialization.load_pem_private_key(key_block.group(0), password.encode() if password else None)
        cert = x509.load_pem_x509_certificate(cert_block.group(0))
    except (ValueError, TypeError) as exc:
        raise CertificateError("The private key or certificate in %s cannot be read (%s)" % (path, type(exc).__name__),
                               code="certificate_path",
                               hint="check certificate_password (set it when the key is encrypted, leave it unset "
                                    "when it is not)") from None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise CertificateError("The private key in %s does not belong to its certificate" % path,
                               code="certificate_path", hint="remove the file to have a new key and certificate made")
    return LocalCertificate(cert, pem)


def new_certificate(subject, valid_days, key_size=2048, password=None, now=None):
    """A new RSA key and a self-signed certificate for it, as a LocalCertificate (not yet written anywhere)."""
    now = now or datetime.datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else \
        serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption) + \
        cert.public_bytes(serialization.Encoding.PEM)
    return LocalCertificate(cert, pem)


def write_certificate_file(path, local):
    """Write key + certificate atomically, readable by the owner only (0600), the directory 0700 when made."""
    write_private_file(path, local.pem.decode("ascii"))
