"""`linkedmode vm create | destroy | snapshot ...` against a running `linkedmode up`."""

from __future__ import annotations

import json

import pytest
from test_cli import linkedmode, running_up  # noqa: F401  # running_up is the fixture: one `linkedmode up` for this module


def test_create_snapshot_and_destroy_a_vm_from_the_command_line(running_up):  # noqa: F811
    state_dir, _ = running_up
    created = linkedmode("vm", "create", "cli-vm", "--host", "esx-a1", "--datastore", "ds-a-shared", "--memory-mb", "64",
                         "--disk-mb", "16", "--disk-mb", "8", "--network", "VM Network", "--migrate-encryption", "required",
                         state_dir=state_dir, check=True)
    assert "Folder.createVm dc-a: success" in created.stdout and "name=cli-vm" in created.stdout
    lines = linkedmode("vm", "show", "cli-vm", state_dir=state_dir, check=True).stdout.splitlines()
    shown = dict(line.split(None, 1) for line in lines)
    assert shown["power_state"] == "poweredOff" and shown["migrate_encryption"] == "required" and shown["memory_mb"] == "64"
    assert [line.split()[3:5] for line in lines if line.startswith("Hard disk")] == [["16", "MB"], ["8", "MB"]]
    assert [line.split()[3][:9] for line in lines if line.startswith("Network adapter")] == ["00:50:56:"]

    taken = linkedmode("vm", "snapshot", "create", "cli-vm", "first", "--description", "before the change",
                       state_dir=state_dir, check=True)
    assert "VirtualMachine.createSnapshot cli-vm: success" in taken.stdout
    table = linkedmode("vm", "snapshot", "list", "cli-vm", state_dir=state_dir, check=True).stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "CREATED", "DESCRIPTION"]
    assert table[1].split()[1] == "first" and table[1].endswith("before the change")
    listed = json.loads(linkedmode("vm", "snapshot", "list", "cli-vm", "--json", state_dir=state_dir, check=True).stdout)
    assert [s["name"] for s in listed] == ["first"]
    removed = linkedmode("vm", "snapshot", "remove", "cli-vm", listed[0]["id"], state_dir=state_dir, check=True)
    assert "VirtualMachine.removeSnapshot cli-vm: success" in removed.stdout
    assert json.loads(linkedmode("vm", "snapshot", "list", "cli-vm", "--json", state_dir=state_dir, check=True).stdout) == []

    destroyed = linkedmode("vm", "destroy", "cli-vm", state_dir=state_dir, check=True)
    assert "VirtualMachine.destroy cli-vm: success" in destroyed.stdout
    gone = linkedmode("vm", "show", "cli-vm", state_dir=state_dir)
    assert gone.stderr.strip() == "linkedmode: no VM named 'cli-vm' in vc-a, vc-b, vc-legacy"


def test_create_on_a_cluster(running_up):  # noqa: F811
    state_dir, _ = running_up
    created = linkedmode("vm", "create", "cli-placed", "--cluster", "cluster-b", "--datastore", "ds-b-shared", "--memory-mb", "32",
                         "--json", state_dir=state_dir, check=True)
    assert json.loads(created.stdout)["created"]["name"] == "cli-placed"
    assert linkedmode("vm", "show", "cli-placed", state_dir=state_dir, check=True).stdout.splitlines()[0].split() == ["vcenter", "vc-b"]


@pytest.mark.parametrize("args,message", [
    (["vm", "create", "x", "--datastore", "ds-a-shared"], "linkedmode: give --host or --cluster (one of them)"),
    (["vm", "create", "x", "--host", "nope", "--datastore", "ds-a-shared"], "linkedmode: no host named 'nope' in vc-a, vc-b, vc-legacy"),
    (["vm", "create", "x", "--host", "esx-a1", "--datastore", "ds-a-shared", "--migrate-encryption", "sometimes"],
     "linkedmode: InvalidArgument: migrate_encryption 'sometimes' is not one of disabled, opportunistic, required"),
    (["vm", "create", "x", "--host", "esx-a1", "--datastore", "ds-a-shared", "--memory-mb", "0"],
     "linkedmode: InvalidArgument: memory_mb 0 is not between 1 and 25165824"),
    (["vm", "create", "x", "--host", "esx-a1", "--datastore", "ds-a-shared", "--user", "auditor"],
     "linkedmode: NoPermission: user auditor (read-only) may not call CreateVm: it needs the admin role"),
    (["vm", "destroy", "nope"], "linkedmode: no VM named 'nope' in vc-a, vc-b, vc-legacy"),
    (["vm", "snapshot", "create", "batch-off", ""], "linkedmode: InvalidArgument: name is required"),
])
def test_bad_input_is_one_clear_line(running_up, args, message):  # noqa: F811
    state_dir, _ = running_up
    done = linkedmode(*args, state_dir=state_dir)
    assert done.returncode == 1
    assert done.stderr.strip() == message


@pytest.mark.parametrize("args,ending", [
    (["vm", "create", "app-disabled", "--host", "esx-a1", "--datastore", "ds-a-shared"],
     "failed: DuplicateName: a VM named 'app-disabled' already exists in dc-a"),
    (["vm", "create", "x", "--host", "esx-a2", "--datastore", "ds-a1-local"],
     "failed: InvalidArgument: host esx-a2 does not mount datastore ds-a1-local"),
    (["vm", "create", "x", "--host", "esx-a1", "--datastore", "ds-a-shared", "--network", "Storage"],
     "failed: NotFound: vc-a has no network 'Storage' in dc-a"),
    (["vm", "destroy", "app-disabled"], "failed: InvalidPowerState: app-disabled is poweredOn: power it off before destroying it"),
    (["vm", "snapshot", "remove", "batch-off", "nope"], "failed: NotFound: batch-off has no snapshot 'nope'"),
])
def test_a_refused_task_says_why_in_one_line(running_up, args, ending):  # noqa: F811
    state_dir, _ = running_up
    done = linkedmode(*args, state_dir=state_dir)
    assert done.returncode == 1
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith("linkedmode: task task-vc-a-") and line.endswith(ending)
