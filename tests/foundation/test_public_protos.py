"""The public API apart from the internal one: a client compiles only VCenter, Emulator and their types
(no LinkedMode or HostAgent message, where a migration key travels) plus our copy of google.rpc.Status,
from protos/ alone; every proto file names its Go, Java and C# packages."""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.rpc import status_pb2

PROTOS = Path(__file__).resolve().parents[2] / "protos"
PUBLIC = ["linkedmode/v1/common.proto", "linkedmode/v1/inventory.proto", "linkedmode/v1/fault_rules.proto",
          "linkedmode/v1/vcenter.proto", "linkedmode/v1/emulator.proto", "linkedmode/v1/session.proto", "google/rpc/status.proto"]
INTERNAL = ["linkedmode/v1/linked_mode.proto", "linkedmode/v1/host_agent.proto"]


def compile_alone(files: list[str], tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    """protoc over a copy of `files` only (and the well-known types): an import of anything else fails."""
    from grpc_tools import protoc

    root = tmp_path / "protos"
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROTOS / name, root / name)
    out = tmp_path / "out"
    out.mkdir()
    descriptors = tmp_path / "set.pb"
    well_known = str(resources.files("grpc_tools") / "_proto")
    code = protoc.main(["protoc", f"-I{root}", f"-I{well_known}", f"--python_out={out}", f"--descriptor_set_out={descriptors}",
                        "--include_imports", *files])
    assert code == 0, f"the public protos do not compile on their own (exit {code})"
    return descriptor_pb2.FileDescriptorSet.FromString(descriptors.read_bytes())


def test_a_client_compiles_the_public_protos_alone(tmp_path):
    compiled = compile_alone(PUBLIC, tmp_path)
    names = {f.name for f in compiled.file}
    assert not names & set(INTERNAL)
    messages = {m.name for f in compiled.file for m in f.message_type}
    assert {"MigrationSpec", "IncomingMigrationRequest", "PeerInfo"}.isdisjoint(messages)
    services = {s.name for f in compiled.file for s in f.service}
    assert services == {"VCenter", "Emulator", "SessionManager"}


def test_the_internal_api_needs_what_a_client_does_not_have(tmp_path):
    """The negative: without the internal files, LinkedMode does not compile (the check above can fail)."""
    from grpc_tools import protoc

    root = tmp_path / "protos"
    for name in [*PUBLIC, "linkedmode/v1/linked_mode.proto"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROTOS / name, root / name)
    out = tmp_path / "out"
    out.mkdir()
    well_known = str(resources.files("grpc_tools") / "_proto")
    assert protoc.main(["protoc", f"-I{root}", f"-I{well_known}", f"--python_out={out}", "linkedmode/v1/linked_mode.proto"]) != 0


def test_our_status_is_googles_wire_format(tmp_path):
    compiled = compile_alone(["google/rpc/status.proto"], tmp_path)
    ours = next(m for f in compiled.file if f.name == "google/rpc/status.proto" for m in f.message_type if m.name == "Status")
    theirs = descriptor_pb2.DescriptorProto()
    status_pb2.Status.DESCRIPTOR.CopyToProto(theirs)
    shape = lambda message: [(f.name, f.number, f.type, f.label, f.type_name) for f in message.field]  # noqa: E731
    assert shape(ours) == shape(theirs)


@pytest.mark.parametrize("name", sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto")))
def test_every_proto_file_names_its_packages_for_other_languages(name):
    text = (PROTOS / name).read_text()
    for option in ("go_package", "java_package", "java_multiple_files", "csharp_namespace"):
        assert re.search(rf"^option {option} = ", text, re.M), f"{name} has no option {option}"
