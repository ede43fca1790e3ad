"""Checking rendered objects against the Kubernetes API models of the `kubernetes` package.

The package's deserializer enforces required fields and enums but ignores keys it does not know, so
`unknown_fields` walks each object beside its model's attribute map: a misspelt or misplaced key is
an error, as `kubectl apply --validate=strict` would say.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kubernetes import client

MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "Service"): "V1Service",
    ("v1", "Pod"): "V1Pod",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("apps/v1", "Deployment"): "V1Deployment",
}
_PRIMITIVES = {"str", "int", "bool", "float", "bytes", "object", "datetime", "date"}


def model_name(obj: dict[str, Any]) -> str:
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in MODELS:
        raise ValueError(f"no model for {key}")
    return MODELS[key]   # type: ignore[index]  # checked just above


def deserialize(obj: dict[str, Any]) -> Any:
    """The object as its V1* model; raises ValueError on a missing required field or a bad enum."""
    return client.ApiClient().deserialize(json.dumps(obj), model_name(obj), "application/json")


def unknown_fields(obj: Any, model: str, path: str = "") -> list[str]:
    """Every key of `obj` that the model `model` (a type string of the package) does not have."""
    if model in _PRIMITIVES:
        return []
    inner = re.fullmatch(r"(?:List|list)\[(.+)\]", model)
    if inner:
        return [e for i, item in enumerate(obj) for e in unknown_fields(item, inner.group(1), f"{path}[{i}]")]
    inner = re.fullmatch(r"(?:Dict\[str, (.+)\]|dict\(str, (.+)\))", model)
    if inner:
        value_type = inner.group(1) or inner.group(2)
        return [e for k, v in obj.items() for e in unknown_fields(v, value_type, f"{path}.{k}")]
    cls = getattr(client, model)
    by_key = {key: cls.openapi_types[attr] for attr, key in cls.attribute_map.items()}
    if not isinstance(obj, dict):
        return [f"{path or '.'}: expected an object ({model})"]
    errors = []
    for key, value in obj.items():
        if key not in by_key:
            errors.append(f"{path}.{key}: not a field of {model}")
        elif value is not None:
            errors += unknown_fields(value, by_key[key], f"{path}.{key}")
    return errors


def validate(obj: dict[str, Any]) -> Any:
    """The object's model, after checking it has no unknown field; raises ValueError naming each problem."""
    errors = unknown_fields(obj, model_name(obj))
    if errors:
        raise ValueError(f"{obj['kind']} {obj['metadata'].get('name')}: " + "; ".join(errors))
    return deserialize(obj)
