"""What every request must be, whatever its method: parseable, and within the limits below.

The authorising layer runs `check_request` before any servicer sees a request, so no method has to guard
against a 100 KB name, a million-entry list, an enum number the API does not define or a NaN; each
refusal is an InvalidArgument naming the field (`spec.service.url`, `types[3]`). What one method
needs beyond that (a required field, a range) it checks itself with linkedmode.model.validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ..model.faults import InvalidArgument
from ..model.validation import shown

MAX_TEXT = 1024                   # characters of a string field: names, ids, addresses, thumbprints
MAX_LONG_TEXT = 16 << 10          # free text one part passes on: an abort's reason is a fault message
LONG_TEXT_FIELDS = frozenset({"reason"})
MAX_BYTES = 64 << 10              # a bytes field (key, nonce and marker have tighter checks of their own)
MAX_ITEMS = 1024                  # entries of a repeated or map field


class Unparsable:
    """Stands in for a request whose bytes are not a message of the method's type."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


def lenient(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """A deserializer that hands a bad request on as Unparsable: gRPC would answer INTERNAL for it."""

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as error:
            return Unparsable(f"{type(error).__name__}: {error}"[:200])

    return parse


def check_request(request: Any) -> None:
    if isinstance(request, Unparsable):
        raise InvalidArgument(f"the request is not a valid message of this method's type ({request.problem})",
                              argument="request")
    if isinstance(request, Message):
        _check_message(request, "")


def _check_message(message: Message, path: str) -> None:
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        if not field.is_repeated:
            _check_value(field, value, name)
            continue
        if len(value) > MAX_ITEMS:
            raise InvalidArgument(f"{name} has {len(value)} entries; at most {MAX_ITEMS} are allowed", argument=name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            for key in value:
                _check_value(key_field, key, f"{name} key")
                _check_value(value_field, value[key], f"{name}[{shown(key)}]")
        else:
            for index, item in enumerate(value):
                _check_value(field, item, f"{name}[{index}]")


def _check_value(field: FieldDescriptor, value: Any, name: str) -> None:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        _check_message(value, f"{name}.")
    elif kind == FieldDescriptor.TYPE_STRING:
        limit = MAX_LONG_TEXT if field.name in LONG_TEXT_FIELDS else MAX_TEXT
        if len(value) > limit:
            raise InvalidArgument(f"{name} is {len(value)} characters long; at most {limit} are allowed", argument=name)
    elif kind == FieldDescriptor.TYPE_BYTES:
        if len(value) > MAX_BYTES:
            raise InvalidArgument(f"{name} is {len(value)} bytes long; at most {MAX_BYTES} are allowed", argument=name)
    elif kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        if value not in field.enum_type.values_by_number:
            known = ", ".join(f"{v.name} ({v.number})" for v in field.enum_type.values if not v.name.endswith("_UNSPECIFIED"))
            raise InvalidArgument(f"{name} {value} is not one of {known}", argument=name)
    elif kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT) and not math.isfinite(value):
        raise InvalidArgument(f"{name} must be a finite number, not {value}", argument=name)
