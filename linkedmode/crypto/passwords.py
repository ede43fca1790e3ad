"""Users' passwords, stored as scrypt hashes: a random salt per password, the cost in the text.

    scrypt$16384$8$1$<salt, base64>$<hash, base64>

Only the hash is ever kept (in a topology, in memory); a clear password lives as long as the call that
checks it. Checking a user that does not exist costs the same as checking one that does, so the time
a wrong login takes does not say which user names exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1          # about 16 MiB and a few tens of milliseconds per check
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD_BYTES = 1024
_MAX_N = 2**20                 # a stored hash asking for more is refused, not computed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + (1 << 20), dklen=HASH_BYTES)


def hash_password(password: str) -> str:
    """A new salted hash of `password`."""
    if not password:
        raise ValueError("a password cannot be empty")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password is at most {MAX_PASSWORD_BYTES} bytes")
    salt = secrets.token_bytes(SALT_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(_scrypt(password, salt, N, R, P))}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("not a password hash like scrypt$16384$8$1$SALT$HASH")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise ValueError("not a password hash like scrypt$16384$8$1$SALT$HASH") from None
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("the password hash asks for an scrypt cost out of range")
    if len(salt) < 8 or len(digest) != HASH_BYTES:
        raise ValueError(f"the password hash needs a salt of 8 bytes or more and a hash of {HASH_BYTES} bytes")
    return n, r, p, salt, digest


def check_password_hash(stored: str) -> str:
    """`stored` if it is a hash this module can check; ValueError saying why not otherwise."""
    _parse(stored)
    return stored


@cache
def _unknown_user() -> str:
    """What a login for a user without a password is checked against (made once, when first needed)."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches the hash `stored` (None: no such user, or no password: always False,
    in the time a real check takes)."""
    n, r, p, salt, digest = _parse(stored or _unknown_user())
    if not password or len(password.encode()) > MAX_PASSWORD_BYTES:
        password = ""
    matches = hmac.compare_digest(_scrypt(password, salt, n, r, p), digest)
    return matches and stored is not None and bool(password)
