"""Is a KMS serving? Makes the mutual-TLS handshake a vCenter makes with it, as the KMS itself: a pod's probe.

    python -m linkedmode.deploy.kms_probe HOST:PORT --credential-dir DIR

It presents DIR/kms.pem (a KMS's certificate is a client certificate of its own SSO domain, whose CA
the KMS trusts), verifies the server by DIR/trust.pem, checks that the certificate the server shows
is the identity of DIR/kms.pem (this KMS, not another server on the port), and closes without a KMIP
request. Exit status 0 when all of that holds, 1 otherwise, with one line saying what it found.

Why not the kubelet's `tcpSocket` probe: an open port says only that PyKMIP's accept loop runs, not
that its credential loads and its trust accepts its domain's clients; and PyKMIP logs every
connection that closes before the handshake as a failed session, with a traceback, every period. A
handshake that completes and closes is a session PyKMIP ends quietly. The probe imports neither
PyKMIP nor the rest of the package: only `ssl` and the certificate's identity.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
from pathlib import Path

from ..crypto.identity import identity_of_certificate
from ..kms.server import CERTIFICATE, KEY, TRUST  # the server imports PyKMIP only when it serves

DEFAULT_TIMEOUT = 5.0


class KmsProbeError(Exception):
    """The probe cannot ask: its credential files are missing or unreadable."""


def handshake(address: str, credential_dir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> tuple[bool, str]:
    """(serving?, one line saying what the KMS at `address` answered)."""
    missing = [name for name in (CERTIFICATE, KEY, TRUST) if not (credential_dir / name).is_file()]
    if missing:
        raise KmsProbeError(f"no {missing[0]} under {credential_dir}")
    own = identity_of_certificate((credential_dir / CERTIFICATE).read_bytes())
    if own is None or own.kind != "kms":
        raise KmsProbeError(f"{credential_dir / CERTIFICATE} is not a KMS's certificate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False                  # the identity in the certificate is checked below, as vCenters do
    context.load_verify_locations(str(credential_dir / TRUST))
    context.load_cert_chain(str(credential_dir / CERTIFICATE), str(credential_dir / KEY))
    host, _, port = address.rpartition(":")
    label = f"kms:{own.name} at {address}"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as raw, context.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError) as error:
        return False, f"{label}: {_why(error)}"
    peer = identity_of_certificate(ssl.DER_cert_to_PEM_cert(der).encode()) if der else None
    if peer != own:
        return False, f"{label}: the server there is {peer or 'unknown'}, not {own}"
    return True, f"{label}: SERVING"


def _why(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake refused ({error.reason or error})"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError | socket.timeout):
        return "no answer in time"
    return str(error) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linkedmode.deploy.kms_probe", description=__doc__.splitlines()[0])
    parser.add_argument("address", metavar="HOST:PORT", help="where the KMS listens")
    parser.add_argument("--credential-dir", type=Path, required=True, help=f"where {CERTIFICATE}, {KEY} and {TRUST} are")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds to wait (default {DEFAULT_TIMEOUT:g})")
    args = parser.parse_args(argv)
    if not args.address.rpartition(":")[2].isdigit():
        print(f"linkedmode kms probe: {args.address!r} is not HOST:PORT", file=sys.stderr)
        return 2
    try:
        serving, line = handshake(args.address, args.credential_dir, timeout=args.timeout)
    except (KmsProbeError, ssl.SSLError, OSError) as error:
        print(f"linkedmode kms probe: {error}", file=sys.stderr)
        return 1
    print(line)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
