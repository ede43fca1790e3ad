"""Password checks are bounded per login listener: beyond the cap a Login is refused at once, not queued."""

from __future__ import annotations

import asyncio
import threading

import pytest

from linkedmode.crypto.identity import Identity
from linkedmode.model.faults import UnableToAllocateResource
from linkedmode.rpc.login import LOGIN, password_authenticator
from linkedmode.v1 import session_pb2


class SlowAuthority:
    """Holds every password check until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def authenticate(self, user_name: str, password: str) -> Identity:
        assert self.release.wait(10)
        return Identity("corp.local", "user", user_name)

    def principal(self, session_id: str) -> Identity:
        raise AssertionError("not used")


def test_logins_beyond_the_cap_are_refused_at_once():
    authority = SlowAuthority()
    authenticate = password_authenticator(authority, max_logins=2)
    request = session_pb2.LoginRequest(user_name="ann", password="pw")

    async def flood() -> list[object]:
        checks = [asyncio.ensure_future(authenticate(None, LOGIN, request)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(UnableToAllocateResource) as refused:
            await asyncio.wait_for(authenticate(None, LOGIN, request), 5)
        assert refused.value.message == "2 logins are being checked already: try again"
        authority.release.set()
        done = await asyncio.wait_for(asyncio.gather(*checks), 10)
        done.append(await asyncio.wait_for(authenticate(None, LOGIN, request), 10))   # a slot is free again
        return done

    assert [who.name for who in asyncio.run(flood())] == ["ann", "ann", "ann"]
