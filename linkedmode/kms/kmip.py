"""A vCenter as a KMIP client of one KMS: create, activate, get, revoke and destroy symmetric keys.

Each call opens a mutual-TLS connection: the vCenter presents its own certificate and trusts the KMS by
the CA certificate it was given and by the identity in the KMS's certificate (``kms/<name>`` of the
domain), so another server on that port is not taken for the KMS. A KMS that is down or refuses the
handshake is ``KmsUnreachable``; a key it does not have, or will not give, is ``CryptoKeyUnavailable``.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..crypto.identity import Identity, identity_of_certificate
from ..model.faults import CryptoKeyUnavailable, KmsUnreachable
from .server import POLICY

logging.getLogger("kmip").setLevel(logging.CRITICAL)   # its client logs every failure with its own traceback

T = TypeVar("T")


@functools.cache
def _pykmip() -> tuple[Any, Any, type[Exception]]:
    """PyKMIP's enums, client and operation failure, imported on first use: it takes a second to
    import, which commands that never speak KMIP should not pay."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # PyKMIP imports ciphers cryptography has deprecated
        from kmip import enums
        from kmip.pie.client import ProxyKmipClient
        from kmip.pie.exceptions import KmipOperationFailure
    return enums, ProxyKmipClient, KmipOperationFailure
KEY_BITS = 256
CALL_SECONDS = 10


class KmipKeyServer:
    """The KMS of Standard Key Provider `provider`, at `address` (host:port), as `credential` reaches it."""

    def __init__(self, provider: str, address: str, certificate: Path, key: Path, kms_identity: Identity, kms_ca: Path) -> None:
        """`certificate`, `key`: the vCenter's own credential files (ssl loads them from files: they are
        read where they are, never copied); `kms_ca`: the certificate of the CA that issued the KMS's."""
        self.provider = provider
        self.address = address
        self.kms_identity = kms_identity
        self._files = (str(certificate), str(key), str(kms_ca))
        self._lock = threading.Lock()

    # -- key lifecycle ---------------------------------------------------------------------------

    def create_key(self) -> str:
        """A new active AES-256 key on the KMS, usable by every vCenter of the provider; its id."""
        enums = _pykmip()[0]

        def create(client: Any) -> str:
            uid = str(client.create(enums.CryptographicAlgorithm.AES, KEY_BITS, operation_policy_name=POLICY,
                                    cryptographic_usage_mask=[enums.CryptographicUsageMask.WRAP_KEY,
                                                              enums.CryptographicUsageMask.UNWRAP_KEY]))
            client.activate(uid)
            return uid
        return self._call("create a key", create)

    def get_key(self, key_id: str) -> bytearray:
        """The key of `key_id` (a bytearray, for the caller to wipe)."""
        return self._call(f"get key {key_id}", lambda client: bytearray(client.get(key_id).value))

    def key_state(self, key_id: str) -> str:
        """The key's state as the KMS keeps it (KMIP: PRE_ACTIVE, ACTIVE, DEACTIVATED, DESTROYED...)."""
        def state(client: Any) -> str:
            _, attributes = client.get_attributes(key_id, ["State"])
            return str(attributes[0].attribute_value.value.name)
        return self._call(f"read the state of key {key_id}", state)

    def reach(self) -> None:
        """Connects and checks the KMS's identity, asking it nothing."""
        self._call("reach the KMS", lambda client: None)

    def retire_key(self, key_id: str) -> None:
        """Revokes the key, then destroys it (PyKMIP's server then forgets the id as well)."""
        enums = _pykmip()[0]

        def retire(client: Any) -> None:
            client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, key_id)
            client.destroy(key_id)
        self._call(f"retire key {key_id}", retire)

    # -- one connection per call -----------------------------------------------------------------

    def _call(self, doing: str, operation: Callable[[Any], T]) -> T:
        enums, client_class, operation_failure = _pykmip()
        host, _, port = self.address.rpartition(":")
        certificate, key, kms_ca = self._files
        client = client_class(
            hostname=host, port=int(port), cert=certificate, key=key, ca=kms_ca, ssl_version="PROTOCOL_TLS",
            config_file=os.devnull,           # so PyKMIP reads no system-wide client configuration
            kmip_version=enums.KMIPVersion.KMIP_1_2)
        client.proxy.timeout = CALL_SECONDS
        with self._lock:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)   # PyKMIP names its TLS context by ssl.PROTOCOL_TLS
                    client.open()
            except Exception as error:
                raise KmsUnreachable(f"key provider {self.provider}: cannot {doing}: the KMS at {self.address} "
                                     f"{_why(error)}", key_provider=self.provider) from None
            try:
                self._check_peer(client)
                return operation(client)
            except operation_failure as failure:
                raise CryptoKeyUnavailable(f"key provider {self.provider}: cannot {doing}: {failure.reason.name}",  # type: ignore[attr-defined]  # KmipOperationFailure has .reason
                                           key_provider=self.provider) from None
            except (OSError, ssl.SSLError, EOFError) as error:
                raise KmsUnreachable(f"key provider {self.provider}: cannot {doing}: the KMS at {self.address} "
                                     f"{_why(error)}", key_provider=self.provider) from None
            finally:
                client.close()

    def _check_peer(self, client: Any) -> None:
        der = client.proxy.socket.getpeercert(binary_form=True)
        identity = identity_of_certificate(ssl.DER_cert_to_PEM_cert(der).encode()) if der else None
        if identity != self.kms_identity:
            raise KmsUnreachable(f"key provider {self.provider}: the server at {self.address} is {identity or 'unknown'}, "
                                 f"not {self.kms_identity}", key_provider=self.provider)

    def close(self) -> None:
        """Nothing is held between calls: each opens and closes its own connection."""


def _why(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if "refused" in text.lower():
        return "does not answer (connection refused)"
    if isinstance(error, ssl.SSLError) or "ssl" in text.lower() or "certificate" in text.lower():
        return f"refused the TLS handshake ({text[:200]})"
    return f"could not be reached ({text[:200]})"
