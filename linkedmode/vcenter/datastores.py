"""A vCenter's datastores as folders: ``<state dir>/datastores/<vcenter>/<datastore>/``.

A datastore is one folder however many hosts mount it (a shared datastore is one folder that several
hosts see); a VM's disk is a sparse file ``<datastore>/<vm name>/<disk label, spaces as dashes>.vmdk``.
Names are escaped as vSphere escapes them in datastore paths (``/`` as ``%2f``).

This is the one place that relies on hosts and vCenters sharing one machine: the paths made here go
to hosts in migration specs (DiskMove) and to the destination vCenter of a cold move, and those open
them directly. A version spread over machines changes this module (datastores mounted per host, NFC
between hosts for cold moves), not its callers.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ..crypto.files import private_folder
from ..model.faults import Fault
from ..model.inventory import Disk
from ..vmotion.disks import create_disk, remove_disk

log = logging.getLogger(__name__)

SEEDED_BLOCKS = 4          # blocks of data a seeded disk holds: what a move has to copy


def escape(name: str) -> str:
    escaped = name.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c").replace("\0", "%00")
    return escaped.replace(".", "%2e") if escaped in (".", "..") else escaped


def disk_file_name(vm: str, label: str) -> str:
    """``<vm>/<label>.vmdk``, the disk's place inside its datastore."""
    return f"{escape(vm)}/{escape(label.replace(' ', '-'))}.vmdk"


class DatastoreFolders:
    """The folders of one vCenter's datastores, under ``root`` (``<state dir>/datastores/<vcenter>``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def folder(self, datastore: str) -> Path:
        return self.root / escape(datastore)

    def disk_path(self, datastore: str, vm: str, disk: Disk) -> str:
        return str(self.folder(datastore) / disk_file_name(vm, disk.label))

    def create_folder(self, datastore: str) -> None:
        private_folder(self.folder(datastore))

    def create_disk(self, datastore: str, vm: str, disk: Disk) -> str:
        """A new disk of the disk's capacity with a few blocks written (replaces any file there)."""
        path = self.disk_path(datastore, vm, disk)
        create_disk(path, disk.capacity_mb << 20, SEEDED_BLOCKS)
        return path

    def remove_disks(self, paths: list[str] | tuple[str, ...]) -> None:
        """Removes disk files this vCenter no longer needs (a VM's disks that moved away); a file that
        cannot be removed is logged, not raised: the move it follows has happened."""
        for path in paths:
            if not Path(path).resolve().is_relative_to(self.root):
                log.warning("not removing %s: it is not on a datastore of this vCenter", path)
                continue
            try:
                remove_disk(path)
            except (OSError, Fault) as error:
                log.warning("could not remove %s: %s", path, error)

    def wipe(self) -> None:
        """Every datastore emptied (a reset to the topology's first inventory)."""
        shutil.rmtree(self.root, ignore_errors=True)
