"""linkedmode deploy kubernetes: manifests that run a topology's parts on a cluster.

    linkedmode deploy kubernetes [TOPOLOGY] [--out DIR] [--image IMAGE] [--namespace NS]

Writes DIR/estate.yaml (every object, one multi-document file: it holds the parts' private keys),
DIR/pki/ (each domain's CA certificate and its users' credentials, for the clients) and, unless
--ca-dir says where they are, DIR/ca/ (the CA keys, which no manifest carries).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..deploy.credentials import DeployAuthorities
from ..deploy.manifests import write_manifests
from ..deploy.parts import ClusterNames
from ..deploy.render import (
    ACCESS_MODES,
    DEFAULT_DATASTORES_STORAGE,
    DEFAULT_IMAGE,
    DEFAULT_STORAGE,
    DeployError,
    DeployOptions,
    render_estate,
)
from ..topology import default_topology_text
from .common import CommandError
from .up import load

DEFAULT_OUT = Path("linkedmode-kubernetes")


def kubernetes(args: argparse.Namespace) -> int:
    topology = load(args.topology)
    text = Path(args.topology).read_text(encoding="utf-8") if args.topology else default_topology_text()
    options = DeployOptions(ClusterNames(args.namespace, args.cluster_domain), args.image, args.storage,
                            args.datastores_storage, args.datastores_access, args.storage_class)
    try:
        options.check()
    except DeployError as error:
        raise CommandError(str(error)) from None
    out: Path = args.out
    ca_root: Path = args.ca_dir or out / "ca"
    authorities = DeployAuthorities(topology, ca_root)
    path = write_manifests(render_estate(topology, text, authorities, options), out)
    authorities.save_users(topology, out / "pki")
    print(f"linkedmode: {path} (apply with: kubectl apply -f {path})")
    print(f"clients: CA and user credentials in {out / 'pki'}; CA keys in {ca_root} (in no manifest)")
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("deploy", help="render what runs a topology elsewhere (kubernetes)")
    targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")
    k8s = targets.add_parser("kubernetes", help="manifests: a StatefulSet, Service and Secret per part, the topology as a ConfigMap")
    k8s.add_argument("topology", nargs="?", help="topology YAML file (default: the built-in topology)")
    k8s.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default ./{DEFAULT_OUT})")
    k8s.add_argument("--image", default=DEFAULT_IMAGE, help=f"the linkedmode image (built from Containerfile; default {DEFAULT_IMAGE})")
    k8s.add_argument("--namespace", default="linkedmode", help="namespace of every object (default linkedmode)")
    k8s.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS domain (default cluster.local)")
    k8s.add_argument("--storage", default=DEFAULT_STORAGE, help=f"each vCenter's volume claim (default {DEFAULT_STORAGE})")
    k8s.add_argument("--datastores-storage", default=DEFAULT_DATASTORES_STORAGE,
                     help=f"the datastores' claim, shared by every pod (default {DEFAULT_DATASTORES_STORAGE})")
    k8s.add_argument("--datastores-access", default=ACCESS_MODES[0], metavar="|".join(ACCESS_MODES),
                     help="ReadWriteMany (the default) where pods spread over nodes; ReadWriteOnce on a one-node cluster")
    k8s.add_argument("--storage-class", default=None, help="storage class of every claim (default: the cluster's default)")
    k8s.add_argument("--ca-dir", type=Path, default=None,
                     help="where the CA keys are, or are made (default OUT/ca); they go in no manifest")
    k8s.set_defaults(handler=kubernetes, needs_session=False)
