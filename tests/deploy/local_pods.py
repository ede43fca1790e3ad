"""Rendered pods played on this machine as processes, without a container engine (Linux, as root).

Each pod is a `linkedmode` process run with its container's args in a mount namespace of its own,
where each of its volumes is mounted at its path as the kubelet would: the ConfigMap's topology, the
Secret's items, a folder per emptyDir, a folder per claim (shared by the pods that name it), and an
/etc/hosts that stands in for the cluster DNS, giving each pod's name a loopback IP of its own.
Nothing outside the namespaces changes.
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


_POD_SCRIPT = """set -e
mount --bind "$POD/hosts" /etc/hosts
mount -t tmpfs tmpfs "$POD/etc" && cp -a /etc/. "$POD/etc/" && mount --bind "$POD/etc" /etc
mount -t tmpfs tmpfs /var/lib
while IFS='|' read -r source target; do
  mkdir -p "$target" && mount --bind "$source" "$target"
done < "$POD/mounts"
exec "$@"
"""


def play(objects: list[dict[str, Any]], names: ClusterNames, folder: Path, first_ip: int = 40) -> list[LocalPod]:
    """Starts every StatefulSet's pod as a process; returns them (stop each when done)."""
    sets = [o for o in objects if o["kind"] == "StatefulSet"]
    pods = [LocalPod(f"{s['metadata']['name']}-0", f"127.0.0.{first_ip + i}", folder / s["metadata"]["name"]) for i, s in enumerate(sets)]
    hosts = "127.0.0.1 localhost\n" + "".join(
        f"{pod.ip} {pod.name}.{s['spec']['serviceName']}.{names.namespace}.svc.{names.cluster_domain}\n"
        for pod, s in zip(pods, sets, strict=True))
    try:
        for pod, sts in zip(pods, sets, strict=True):
            (pod.folder / "etc").mkdir(parents=True, exist_ok=True)
            (pod.folder / "hosts").write_text(hosts)
            mounts = _volumes(pod, sts, objects, folder / "claims")
            (pod.folder / "mounts").write_text("".join(f"{source}|{target}\n" for source, target in mounts))
            container = sts["spec"]["template"]["spec"]["containers"][0]
            log = (pod.folder / "pod.log").open("wb")
            pod.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", _POD_SCRIPT, "pod", *entrypoint(container)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "POD": str(pod.folder)})
            log.close()
    except BaseException:
        for pod in pods:
            pod.stop()
        raise
    return pods


def entrypoint(container: dict[str, Any]) -> list[str]:
    """What the container runs: its command (`python` being this environment's), or the image's entrypoint
    (`linkedmode`), followed by its args."""
    command = list(container.get("command") or ["linkedmode"])
    command[0] = str(VENV_BIN / command[0])
    return [*command, *container.get("args", [])]


def _volumes(pod: LocalPod, sts: dict[str, Any], objects: list[dict[str, Any]], claims: Path) -> list[tuple[Path, str]]:
    """(folder on this machine, path in the pod) for each of the container's mounts, outer ones first; a claim
    is one folder every pod that names it shares. /tmp stays this machine's: mounted over, it would hide
    these folders, and the code under test too where its checkout lives in /tmp."""
    spec = sts["spec"]["template"]["spec"]
    templates = {t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])}
    by_name = {v["name"]: v for v in spec["volumes"]}
    mounts = []
    for mount in spec["containers"][0]["volumeMounts"]:
        name = mount["name"]
        if mount["mountPath"] == "/tmp":
            continue
        if name in templates:
            source = claims / f"{name}-{pod.name}"
        elif "persistentVolumeClaim" in by_name[name]:
            source = claims / by_name[name]["persistentVolumeClaim"]["claimName"]
        else:
            source = pod.folder / "volumes" / name
        source.mkdir(parents=True, exist_ok=True)
        volume = by_name.get(name, {})
        if "configMap" in volume:
            config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == volume["configMap"]["name"])
            for key, text in config_map["data"].items():
                (source / key).write_text(text)
        if "secret" in volume:
            secret = next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == volume["secret"]["secretName"])
            for item in volume["secret"]["items"]:
                path = source / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(base64.b64decode(secret["data"][item["key"]]))
                path.chmod(volume["secret"]["defaultMode"])
        mounts.append((source, mount["mountPath"]))
    return sorted(mounts, key=lambda m: m[1].count("/"))
