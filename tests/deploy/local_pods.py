"""Rendered pods played on this machine as processes, without a container engine (Linux, as root).

Each pod is a `linkedmode` process run with its container's args in a mount namespace of its own,
where what the kubelet would provide is mounted at the same paths: the ConfigMap's topology at
/etc/linkedmode, the Secret's items under /var/lib/linkedmode/pki, a state directory at
/var/lib/linkedmode, and an /etc/hosts that stands in for the cluster DNS, giving each pod's name a
loopback IP of its own. Nothing outside the namespaces changes.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkedmode.deploy.parts import ClusterNames

VENV_BIN = Path(sys.executable).parent


def why_pods_cannot_run_here() -> str | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "playing pods as processes needs Linux and root (a mount namespace per pod)"
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        return "playing pods as processes needs unshare and nsenter (util-linux)"
    done = subprocess.run([str(VENV_BIN / "linkedmode"), "serve", "--help"], capture_output=True, text=True, timeout=60)
    if "vcenter:NAME" not in done.stdout or "--topology" not in done.stdout:
        return ("this build's `linkedmode serve` cannot start a vCenter part as the pods do "
                "(`serve vcenter:NAME --topology FILE --state-dir DIR`)")
    return None


@dataclass
class LocalPod:
    name: str
    ip: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    def run_inside(self, command: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`command` in the pod's mount namespace (as the kubelet's exec probe runs it)."""
        assert self.process is not None
        env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
        return subprocess.run(["nsenter", f"--mount=/proc/{self.process.pid}/ns/mnt", "--", *command],
                              capture_output=True, text=True, timeout=timeout, env=env)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


_MOUNTS = """set -e
mount --bind "$POD/hosts" /etc/hosts
mount -t tmpfs tmpfs "$POD/etc" && cp -a /etc/. "$POD/etc/" && mkdir -p "$POD/etc/linkedmode"
mount --bind "$POD/etc" /etc
mount --bind "$POD/config" /etc/linkedmode
mount -t tmpfs tmpfs /var/lib && mkdir /var/lib/linkedmode
mount --bind "$POD/state" /var/lib/linkedmode
exec "$@"
"""


def play(objects: list[dict[str, Any]], names: ClusterNames, folder: Path, first_ip: int = 40) -> list[LocalPod]:
    """Starts every StatefulSet's pod as a process; returns them (stop each when done)."""
    sets = [o for o in objects if o["kind"] == "StatefulSet"]
    pods = [LocalPod(f"{s['metadata']['name']}-0", f"127.0.0.{first_ip + i}", folder / s["metadata"]["name"]) for i, s in enumerate(sets)]
    hosts = "127.0.0.1 localhost\n" + "".join(
        f"{pod.ip} {pod.name}.{s['spec']['serviceName']}.{names.namespace}.svc.{names.cluster_domain}\n"
        for pod, s in zip(pods, sets, strict=True))
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    try:
        for pod, sts in zip(pods, sets, strict=True):
            _lay_out(pod, sts, objects, hosts, config_map)
            container = sts["spec"]["template"]["spec"]["containers"][0]
            log = (pod.folder / "pod.log").open("wb")
            pod.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", _MOUNTS, "pod",
                 str(VENV_BIN / "linkedmode"), *container["args"]],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "POD": str(pod.folder)})
            log.close()
    except BaseException:
        for pod in pods:
            pod.stop()
        raise
    return pods


def _lay_out(pod: LocalPod, sts: dict[str, Any], objects: list[dict[str, Any]], hosts: str, config_map: dict[str, Any]) -> None:
    for sub in ("etc", "config", "state"):
        (pod.folder / sub).mkdir(parents=True, exist_ok=True)
    (pod.folder / "hosts").write_text(hosts)
    for key, text in config_map["data"].items():
        (pod.folder / "config" / key).write_text(text)
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "credential")
    secret = next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == volume["secret"]["secretName"])
    for item in volume["secret"]["items"]:
        path = pod.folder / "state" / "pki" / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(secret["data"][item["key"]]))
        path.chmod(volume["secret"]["defaultMode"])
