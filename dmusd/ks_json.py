"""KS property requests as JSON, for the control protocol's `property` command.

A request is {"set": name or GUID, "item": number or name, "verb": "get" | "set" |
"basic_support", "value": int or hex bytes (set), "size": bytes (get; default the item's size),
"instance": hex bytes}; ks_request turns it into a PropertyRequest (the pin is set by whoever
sends it) and ks_reply turns the PropertyResult into the status, the size and the value (hex,
and as an int when it is 4 or 8 bytes). Every mistake is a DmusdError whose `where` names the
field.
"""

from __future__ import annotations

import struct
from uuid import UUID

from dmusd.errors import DmusdError
from dmusd.kernel.ks import (
    KSPROPERTY_TYPE_BASICSUPPORT,
    KSPROPERTY_TYPE_GET,
    KSPROPERTY_TYPE_SET,
    PropertyRequest,
    PropertyResult,
)
from dmusd.kernel.synth_props import DESCRIPTORS, SET_NAMES

_SET_IDS = {name: set_id for set_id, name in SET_NAMES.items()}
_VERBS = {
    "get": KSPROPERTY_TYPE_GET,
    "set": KSPROPERTY_TYPE_SET,
    "basic_support": KSPROPERTY_TYPE_BASICSUPPORT,
}


def ks_request(request: dict) -> PropertyRequest:
    """The JSON shape of a property request as a PropertyRequest (its pin set by the caller)."""
    if not isinstance(request, dict):
        raise DmusdError("a property request must be a JSON object", where="property")
    set_id = _set_id(request.get("set"))
    item = _item(set_id, request.get("item"))
    verb = request.get("verb", "get")
    if verb not in _VERBS:
        raise DmusdError(f"verb {verb!r} is not one of {', '.join(_VERBS)}", where="property.verb")
    descriptor = DESCRIPTORS.get((set_id, item))
    instance = _hex(request.get("instance", ""), "instance")
    if verb == "set":
        value = _value(request.get("value"), descriptor.value_size if descriptor else 4)
        return PropertyRequest.set(set_id, item, value, instance=instance)
    if "value" in request:
        raise DmusdError(f"a {verb} takes no value", where="property.value")
    size = request.get("size")
    if size is None:
        size = 4 if verb == "basic_support" or descriptor is None else descriptor.value_size
    if type(size) is not int or not 0 <= size <= 1 << 20:
        raise DmusdError(f"size {size!r} must be a byte count 0..1048576", where="property.size")
    if verb == "basic_support":
        request_ = PropertyRequest.basic_support(set_id, item, size)
        request_.instance = instance
        return request_
    return PropertyRequest.get(set_id, item, size, instance=instance)


def ks_reply(result: PropertyResult) -> dict:
    """A property request's result as JSON: status, size, the value as hex (and as an int)."""
    value = result.value
    reply = {"status": result.status, "size": result.size, "value": value.hex()}
    if len(value) == 4:
        reply["int"] = struct.unpack("<i", value)[0]
    elif len(value) == 8:
        reply["int"] = struct.unpack("<q", value)[0]
    return reply


def _set_id(name: object) -> UUID:
    if isinstance(name, str):
        if name in _SET_IDS:
            return _SET_IDS[name]
        try:
            return UUID(name)
        except ValueError:
            pass
    known = ", ".join(sorted(_SET_IDS))
    raise DmusdError(
        f"property set {name!r} is neither a known name ({known}) nor a GUID", where="property.set"
    )


def _item(set_id: UUID, item: object) -> int:
    if type(item) is int and 0 <= item < 1 << 32:
        return item
    if isinstance(item, str):
        wanted = item.upper()
        for (sid, number), d in DESCRIPTORS.items():
            if sid == set_id and (d.name == wanted or d.name.endswith("_" + wanted)):
                return number
        if wanted.isdigit():
            return int(wanted)
    names = [d.name for (sid, _), d in DESCRIPTORS.items() if sid == set_id]
    raise DmusdError(
        f"item {item!r} is not a number or one of {', '.join(names) or 'no names'}",
        where="property.item",
    )


def _value(value: object, size: int) -> bytes:
    """A SET value: an int packed little-endian in the item's size (4 or 8), or hex bytes."""
    if type(value) is int:
        size = 8 if size == 8 else 4
        lo, hi = -(1 << (8 * size - 1)), (1 << (8 * size)) - 1
        if not lo <= value <= hi:
            raise DmusdError(f"value {value} does not fit {size} bytes", where="property.value")
        return value.to_bytes(size, "little", signed=value < 0)
    if isinstance(value, str):
        return _hex(value, "value")
    raise DmusdError("a set needs a value: an integer or hex bytes", where="property.value")


def _hex(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise DmusdError(f"{what} must be hex bytes in a string", where=f"property.{what}")
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise DmusdError(f"{what} {text!r} is not hex bytes", where=f"property.{what}") from None
