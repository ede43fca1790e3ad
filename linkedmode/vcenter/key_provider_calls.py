"""The VCenter calls about key providers: list, add a KMS, default, Native Key Provider backup and restore. They
only translate; the vCenter's KeyProviders decides. A backup password never leaves the call."""

from __future__ import annotations

from typing import Any

from ..model.faults import InvalidArgument
from ..v1 import vcenter_pb2
from .vcenter import VCenter


def key_provider_info(vc: VCenter, name: str) -> vcenter_pb2.KeyProviderInfo:
    keys = vc.keys
    return vcenter_pb2.KeyProviderInfo(name=name, native=keys.is_native(name), kms_address=keys.address(name),
                                       is_default=name == keys.default)


class KeyProviderCalls:
    vc: VCenter

    def ListKeyProviders(self, request: vcenter_pb2.ListKeyProvidersRequest, context: Any) -> vcenter_pb2.ListKeyProvidersResponse:
        return vcenter_pb2.ListKeyProvidersResponse(providers=[key_provider_info(self.vc, n) for n in self.vc.keys.names()])

    def SetDefaultKeyProvider(self, request: vcenter_pb2.KeyProviderRef, context: Any) -> vcenter_pb2.KeyProviderInfo:
        self.vc.keys.set_default(_name(request.name))
        return key_provider_info(self.vc, request.name)

    def AddKeyProvider(self, request: vcenter_pb2.AddKeyProviderRequest, context: Any) -> vcenter_pb2.KeyProviderInfo:
        self.vc.keys.add_standard(_name(request.name), request.kms_address)
        return key_provider_info(self.vc, request.name)

    def BackupKeyProvider(self, request: vcenter_pb2.BackupKeyProviderRequest, context: Any) -> vcenter_pb2.BackupKeyProviderResponse:
        return vcenter_pb2.BackupKeyProviderResponse(backup=self.vc.keys.backup(_name(request.name), _password(request.password)))

    def RestoreKeyProvider(self, request: vcenter_pb2.RestoreKeyProviderRequest, context: Any) -> vcenter_pb2.KeyProviderInfo:
        if not request.backup:
            raise InvalidArgument("backup is required", argument="backup")
        if len(request.backup) > MAX_BACKUP:
            raise InvalidArgument(f"backup is larger than {MAX_BACKUP} bytes: not a Native Key Provider backup", argument="backup")
        return key_provider_info(self.vc, self.vc.keys.restore(request.backup, _password(request.password)))


MAX_NAME = 80
MAX_PASSWORD = 1024
MAX_BACKUP = 64 * 1024


def _name(name: str) -> str:
    if not name:
        raise InvalidArgument("name is required", argument="name")
    if len(name) > MAX_NAME:
        raise InvalidArgument(f"name is longer than {MAX_NAME} characters", argument="name")
    return name


def _password(password: str) -> str:
    if len(password) > MAX_PASSWORD:
        raise InvalidArgument(f"password is longer than {MAX_PASSWORD} characters", argument="password")
    return password
