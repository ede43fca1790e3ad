"""A client's own folder: where a running estate's parts listen, and one user's credential, nothing else.

The state directory's PKI holds the credential of every part and user of the estate; a client handed
this folder instead finds only its own (and its domain's CA certificate, to check the vCenters), so
it can act as that user and no one else. The folder reads as a state directory: `--state-dir` points
the client commands at it.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..crypto.files import private_folder, write_private
from ..crypto.pki import save_credential, save_trust_anchor
from ..estate import ENDPOINTS_FILE
from .connection import Endpoints


def export_user(endpoints: Endpoints, domain: str, user: str, folder: Path) -> Path:
    """Writes `folder`/endpoints.json and `folder`/pki with `user`'s credential alone (owner-only);
    returns the PKI root made there."""
    credential = endpoints.user(domain, user)             # NotFound for a user the estate lacks
    folder = private_folder(Path(folder))
    pki = private_folder(folder / "pki").resolve()
    save_trust_anchor(pki, domain, credential.ca_pem)
    save_credential(pki, credential)
    write_private(folder / ENDPOINTS_FILE, json.dumps({**endpoints.data, "pki": str(pki)}, indent=2).encode())
    return pki
