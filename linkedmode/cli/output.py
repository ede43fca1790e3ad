"""Printing for the command line: aligned tables for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict

_64_BIT = {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64,
           FieldDescriptor.TYPE_SFIXED64, FieldDescriptor.TYPE_SINT64}


def to_plain(message: Any) -> Any:
    """A proto message as plain JSON-ready values, field names as in the .proto, enums as names, and
    numbers as numbers (the proto JSON mapping writes 64-bit integers as strings)."""
    plain = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    return _numbers(message.DESCRIPTOR, plain)


def _numbers(descriptor: Descriptor, plain: dict[str, Any]) -> dict[str, Any]:
    for field in descriptor.fields:
        value = plain.get(field.name)
        if value is None:
            continue
        if field.type in _64_BIT:
            plain[field.name] = [int(v) for v in value] if isinstance(value, list) else int(value)
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry:
            inner = field.message_type
            if isinstance(value, list):
                plain[field.name] = [_numbers(inner, v) if isinstance(v, dict) else v for v in value]
            elif isinstance(value, dict):
                plain[field.name] = _numbers(inner, value)
    return plain


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_fields(pairs: Iterable[tuple[str, Any]]) -> None:
    pairs = list(pairs)
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        print(f"{key.ljust(width)}  {value}")


def enum_word(name: str) -> str:
    """"POWER_STATE_POWERED_ON" -> "poweredOn", "MIGRATE_ENCRYPTION_REQUIRED" -> "required"."""
    for prefix in ("POWER_STATE_", "MIGRATE_ENCRYPTION_", "TASK_STATE_", "HOST_CONNECTION_STATE_"):
        if name.startswith(prefix):
            words = name[len(prefix):].lower().split("_")
            return words[0] + "".join(w.capitalize() for w in words[1:])
    return name
