"""vSphere faults: one hierarchy, each class carrying the gRPC status code it travels as.

The code is a name of grpc.StatusCode, kept as text so that the domain needs no gRPC; the wire layer
maps it in one place (linkedmode.rpc.faults).
"""

from __future__ import annotations


class Fault(Exception):
    """vim.fault.VimFault: the root of every fault the emulator reports."""

    code = "UNKNOWN"

    def __init__(self, message: str, *, object: str = "", **arguments: object) -> None:
        super().__init__(message)
        self.message = message
        self.object = object
        self.arguments = {k: str(v) for k, v in arguments.items()}

    @property
    def name(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class InvalidArgument(Fault):
    code = "INVALID_ARGUMENT"


class NotFound(Fault):
    code = "NOT_FOUND"


class AlreadyExists(Fault):
    code = "ALREADY_EXISTS"


class DuplicateName(AlreadyExists):
    """An object of that name already exists where names must be unique (a VM in its datacenter)."""


class NoPermission(Fault):
    code = "PERMISSION_DENIED"


class NotAuthenticated(Fault):
    code = "UNAUTHENTICATED"


class InvalidLogin(NotAuthenticated):
    """A user name and password that do not match (SessionManager.Login, a ServiceLocator's credential).
    Its message never says which of the two was wrong, and never carries the password."""


class InvalidState(Fault):
    code = "FAILED_PRECONDITION"


class InvalidPowerState(InvalidState):
    pass


class InvalidHostState(InvalidState):
    """The host's state forbids the operation: it is in (or entering) maintenance mode."""


class NotSupported(Fault):
    code = "FAILED_PRECONDITION"


class MigrationFault(Fault):
    code = "FAILED_PRECONDITION"


class MigrationFeatureNotSupported(MigrationFault):
    pass


class SwitchoverUnconfirmed(MigrationFault):
    """END went out but its end was not confirmed: who runs the VM is unknown until it is settled."""


class MacAddressConflict(MigrationFault):
    """A MAC address of the VM is already used in the destination vCenter (row X4)."""


class InsufficientMemoryResourcesFault(MigrationFault):
    pass


class VirtualHardwareCompatibilityIssue(MigrationFault):
    """The target host cannot run the VM's virtual hardware as it is."""


class FeatureRequirementsNotMet(VirtualHardwareCompatibilityIssue):
    """The target host lacks CPU features the running VM uses (row V10; EVC)."""


class InvalidDeviceBacking(MigrationFault):
    """A NIC cannot be backed by the network it would join: from a distributed to a standard switch, or
    between distributed switches of different versions (row V12)."""


class CannotAccessNetwork(MigrationFault):
    pass


class VMOnVirtualIntranet(CannotAccessNetwork):
    """A NIC would join a network without physical uplinks, a "virtual intranet" (row V12)."""


class FileFault(Fault):
    """A datastore file (a virtual disk) could not be read, written or made."""

    code = "FAILED_PRECONDITION"


class FileAlreadyExists(FileFault):
    code = "ALREADY_EXISTS"


class FileNotFound(FileFault):
    code = "NOT_FOUND"


class SSLVerifyFault(Fault):
    """The target's certificate does not match the thumbprint the caller gave."""

    code = "FAILED_PRECONDITION"


class CryptoFault(Fault):
    """vim.fault.CryptoFault: a key could not be made, got or used."""

    code = "FAILED_PRECONDITION"


class KmsUnreachable(CryptoFault):
    """A key provider's KMS does not answer, or the TLS handshake with it failed either way."""

    code = "UNAVAILABLE"


class CryptoKeyUnavailable(CryptoFault):
    """The key of an id could not be got from its key provider: unknown there, or not for this vCenter."""


class HostNotConnected(Fault):
    code = "UNAVAILABLE"


class HostCommunication(Fault):
    code = "UNAVAILABLE"


class PeerUnreachable(HostCommunication):
    """No connection to the other part at all (down, or the TLS handshake refused)."""


class PartKilled(Fault):
    """A part's process was killed by a fault rule: nothing it does from there on happens."""

    code = "UNAVAILABLE"


class TaskInProgress(InvalidState):
    """The VM already runs a task that this operation would conflict with (row V9)."""


class UnableToAllocateResource(Fault):
    """A principal is over a listener's limit (calls or streams at once): it may try again later."""

    code = "RESOURCE_EXHAUSTED"


class RequestCanceled(Fault):
    code = "CANCELLED"


class Timedout(Fault):
    code = "DEADLINE_EXCEEDED"


class SystemError(Fault):
    code = "INTERNAL"


def all_faults() -> dict[str, type[Fault]]:
    """Every fault class by name, for clients that rebuild faults from the wire."""
    found: dict[str, type[Fault]] = {}
    pending: list[type[Fault]] = [Fault]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found
