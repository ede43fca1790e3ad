"""Every rendered object is a valid object of the Kubernetes API, as the `kubernetes` package models it."""

from __future__ import annotations

import copy

import pytest
from kube_models import unknown_fields, validate
from kubernetes import client

from linkedmode.deploy.parts import parts
from linkedmode.topology import default_topology


def test_every_object_deserializes_into_its_model_with_no_unknown_field(rendered):
    kinds = {}
    for obj in rendered.objects:
        model = validate(obj)
        assert model.metadata.name == obj["metadata"]["name"]
        kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
    count = len(parts(default_topology())) + 1   # a Secret, a Service and a StatefulSet per vCenter, host and KMS
    assert count > 10 and kinds == {"Namespace": 1, "ConfigMap": 1, "PersistentVolumeClaim": 1,
                                    "Secret": count, "Service": count, "StatefulSet": count}


def test_objects_live_in_the_namespace_asked_for(rendered):
    assert all(o["metadata"]["namespace"] == "estate" for o in rendered.objects if o["kind"] != "Namespace")
    assert rendered.named("Namespace", "estate")


def test_a_vcenter_is_a_stateful_set_whose_state_is_a_volume_claim(rendered):
    sts: client.V1StatefulSet = validate(rendered.named("StatefulSet", "vcenter-vc-a"))
    assert sts.spec.replicas == 1 and sts.spec.service_name == "vcenter-vc-a"
    (claim,) = sts.spec.volume_claim_templates
    mounts = {m.name: m.mount_path for m in sts.spec.template.spec.containers[0].volume_mounts}
    assert mounts[claim.metadata.name] == "/var/lib/linkedmode"
    assert claim.spec.resources.requests == {"storage": "1Gi"}


def test_every_pod_mounts_the_one_datastores_claim_where_vcenters_make_disk_files(rendered):
    """A vCenter makes its VMs' disks under STATE_DIR/datastores/<vcenter>/ and hands hosts their paths: every pod sees them."""
    claim: client.V1PersistentVolumeClaim = validate(rendered.named("PersistentVolumeClaim", "linkedmode-datastores"))
    assert claim.spec.access_modes == ["ReadWriteMany"] and claim.spec.resources.requests == {"storage": "10Gi"}
    for sts in rendered.of_kind("StatefulSet"):
        if sts["metadata"]["labels"]["app.kubernetes.io/component"] == "kms":
            continue   # a KMS keeps keys, not disks
        pod = validate(sts).spec.template.spec
        volume = next(v for v in pod.volumes if v.name == "datastores")
        assert volume.persistent_volume_claim.claim_name == "linkedmode-datastores"
        mounts = {m.name: m.mount_path for m in pod.containers[0].volume_mounts}
        assert mounts["datastores"] == f"{mounts['state']}/datastores"


def test_a_host_is_a_stateful_set_without_a_claim_its_state_scratch(rendered):
    sts: client.V1StatefulSet = validate(rendered.named("StatefulSet", "host-esx-a1"))
    assert sts.spec.volume_claim_templates is None
    state = next(v for v in sts.spec.template.spec.volumes if v.name == "state")
    assert state.empty_dir is not None


def test_each_pod_serves_its_part_and_probes_it_over_grpc_health(rendered):
    sts: client.V1StatefulSet = validate(rendered.named("StatefulSet", "host-esx-a1"))
    (container,) = sts.spec.template.spec.containers
    assert container.command is None and container.image_pull_policy == "IfNotPresent"   # the entrypoint: linkedmode
    where = ["--topology", "/etc/linkedmode/topology.yaml", "--state-dir", "/var/lib/linkedmode"]
    assert container.args == ["serve", "host:esx-a1", *where]
    for probe in (container.readiness_probe, container.liveness_probe, container.startup_probe):
        assert probe._exec.command == ["python", "-m", "linkedmode.deploy.probe", "host:esx-a1", *where]
        assert probe.grpc is None   # the kubelet's gRPC probe speaks plaintext; our listeners require mTLS


def test_a_kms_is_a_stateful_set_whose_database_is_a_volume_claim(rendered):
    sts: client.V1StatefulSet = validate(rendered.named("StatefulSet", "kms-kms-shared"))
    assert sts.spec.replicas == 1 and sts.spec.service_name == "kms-kms-shared"
    (claim,) = sts.spec.volume_claim_templates
    (container,) = sts.spec.template.spec.containers
    mounts = {m.name: (m.mount_path, m.read_only) for m in container.volume_mounts}
    data_dir = container.args[container.args.index("--data-dir") + 1]
    assert mounts[claim.metadata.name] == (data_dir, None) and claim.spec.access_modes == ["ReadWriteOnce"]
    assert mounts["credential"] == (container.args[container.args.index("--credential-dir") + 1], True)
    assert "datastores" not in mounts and "topology" not in mounts   # a KMS reads neither
    assert container.command == ["python", "-m", "linkedmode.kms.server"]
    assert container.args[container.args.index("--listen") + 1] == "kms-kms-shared-0.kms-kms-shared.estate.svc.cluster.local:5696"
    assert [(p.name, p.container_port) for p in container.ports] == [("kmip", 5696)]


def test_a_kms_is_probed_by_a_tls_handshake_as_itself(rendered):
    (container,) = validate(rendered.named("StatefulSet", "kms-kms-shared")).spec.template.spec.containers
    address = container.args[container.args.index("--listen") + 1]
    for probe in (container.readiness_probe, container.liveness_probe, container.startup_probe):
        assert probe._exec.command == ["python", "-m", "linkedmode.deploy.kms_probe", address,
                                       "--credential-dir", "/var/lib/linkedmode/pki"]
        assert probe.tcp_socket is None and probe.grpc is None


def test_pods_run_as_a_plain_user_on_a_read_only_root(rendered):
    for sts in rendered.of_kind("StatefulSet"):
        pod = validate(sts).spec.template.spec
        assert pod.security_context.run_as_user == 10001 and pod.automount_service_account_token is False
        ctx = pod.containers[0].security_context
        assert ctx.run_as_non_root and ctx.read_only_root_filesystem and not ctx.allow_privilege_escalation
        assert ctx.capabilities.drop == ["ALL"]


def test_a_misspelt_field_is_an_unknown_field():
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x"},
           "spec": {"replicas": 1, "selector": {}, "serviceName": "x", "template": {"spec": {"containers": [
               {"name": "c", "image": "i", "readinessProbe": {"exec": {"comand": ["true"]}}}]}}}}
    where = ".spec.template.spec.containers[0].readinessProbe.exec.comand"
    assert unknown_fields(sts, "V1StatefulSet") == [f"{where}: not a field of V1ExecAction"]
    with pytest.raises(ValueError, match="comand: not a field"):
        validate(sts)


def test_every_rendered_object_would_be_caught_with_a_stray_field(rendered):
    for obj in rendered.objects:
        bad = copy.deepcopy(obj)
        bad["metadata"]["nmae"] = "x"
        with pytest.raises(ValueError, match=r"\.metadata\.nmae: not a field of V1ObjectMeta"):
            validate(bad)


def test_a_missing_required_field_is_refused_by_the_model():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
           "spec": {"ports": [{"name": "management", "targetPort": 8443}]}}   # no port
    with pytest.raises(ValueError, match="port"):
        validate(svc)


def test_a_changed_topology_or_credential_changes_the_pod_template(rendered, tmp_path):
    """The pod template carries a digest of what the part reads at start, so applying a new rendering restarts it."""
    from dataclasses import replace

    from linkedmode.deploy.credentials import DeployAuthorities
    from linkedmode.deploy.parts import parts
    from linkedmode.deploy.render import config_digest

    annotations = [o["spec"]["template"]["metadata"]["annotations"]["linkedmode.io/config-digest"] for o in rendered.of_kind("StatefulSet")]
    assert len(set(annotations)) == len(annotations)
    part = parts(default_topology())[0]
    credential = DeployAuthorities(default_topology(), tmp_path / "ca").part_credential(part, rendered.names)
    text = rendered.topology_text()
    assert config_digest(text, credential) == config_digest(text, credential)
    assert config_digest(text.replace("memory_mb: 128", "memory_mb: 160", 1), credential) != config_digest(text, credential)
    other = DeployAuthorities(default_topology(), tmp_path / "ca").part_credential(part, rendered.names)
    assert config_digest(text, other) != config_digest(text, credential)
    assert config_digest(text, replace(credential, ca_pem=b"another CA")) != config_digest(text, credential)
