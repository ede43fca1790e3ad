from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class LoginRequest(_message.Message):
    __slots__ = ("user_name", "password")
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    user_name: str
    password: str
    def __init__(self, user_name: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class UserSession(_message.Message):
    __slots__ = ("session_id", "user_name", "sso_domain", "role", "vcenter", "idle_timeout_seconds")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    SSO_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    VCENTER_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    user_name: str
    sso_domain: str
    role: str
    vcenter: str
    idle_timeout_seconds: float
    def __init__(self, session_id: _Optional[str] = ..., user_name: _Optional[str] = ..., sso_domain: _Optional[str] = ..., role: _Optional[str] = ..., vcenter: _Optional[str] = ..., idle_timeout_seconds: _Optional[float] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
