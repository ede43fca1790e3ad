"""Mutual TLS for every listener but the vMotion one (and a vCenter's login listener, which asks no
client certificate: its callers log in with a password): credentials for servers and channels."""

from __future__ import annotations

import grpc

from ..crypto.identity import Identity
from ..crypto.pki import Credential

# Long-lived watch streams: keep connections alive through idle periods.
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def server_credentials(credential: Credential) -> grpc.ServerCredentials:
    """Requires a client certificate and verifies it against the SSO domain's CA."""
    return grpc.ssl_server_credentials(
        [(credential.key_pem, credential.cert_pem)],
        root_certificates=credential.ca_pem,
        require_client_auth=True,
    )


def secure_channel(address: str, credential: Credential, server: Identity, *, trust: bytes | None = None) -> grpc.Channel:
    """A channel to `server` at `address`, presenting `credential`.

    The server is checked against `trust` (default: the credential's own CA) under its identity's DNS
    name, so addresses may be bare IPs and ports.
    """
    channel_credentials = grpc.ssl_channel_credentials(
        root_certificates=trust or credential.ca_pem,
        private_key=credential.key_pem,
        certificate_chain=credential.cert_pem,
    )
    options = [*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", server.dns_name)]
    return grpc.secure_channel(address, channel_credentials, options=options)


def login_server_credentials(credential: Credential) -> grpc.ServerCredentials:
    """Server-only TLS: the server proves itself with its certificate; callers authenticate by password."""
    return grpc.ssl_server_credentials([(credential.key_pem, credential.cert_pem)], require_client_auth=False)


def server_only_channel(address: str, trusted_pem: bytes, server: Identity) -> grpc.Channel:
    """A channel to `server` that trusts `trusted_pem` (a CA, or one pinned certificate) and presents no
    certificate of its own: a login listener's client."""
    options = [*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", server.dns_name)]
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=trusted_pem), options=options)


def pinned_channel(address: str, server_cert_pem: bytes, server: Identity) -> grpc.Channel:
    """A channel that trusts exactly one certificate, `server_cert_pem` (pinned by its thumbprint, not by
    trusting the CA that issued it), presenting none of its own."""
    return server_only_channel(address, server_cert_pem, server)
