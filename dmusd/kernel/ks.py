"""KS property requests: the verbs, the status names, the request and result records, dispatch.

A request names a property set (GUID), an item id and one verb (GET, SET or BASICSUPPORT), the
pin instance it targets (the DDI's MinorTarget, None for the filter), instance data that follows
the KSPROPERTY/KSNODEPROPERTY header, and a value buffer: for SET its bytes, for GET its size.
The rules follow KS and the DDK sample synth:

- asking with a value size of 0 returns STATUS_BUFFER_OVERFLOW and the size needed;
- a smaller buffer is refused with STATUS_BUFFER_TOO_SMALL;
- an unknown set or item gives STATUS_NOT_FOUND, a verb the item does not take
  STATUS_INVALID_DEVICE_REQUEST, as does an item that needs a pin when none is given;
- BASICSUPPORT answers a ULONG of the verbs the item takes (BASICSUPPORT | GET | SET).

Successes come back as a PropertyResult; failures raise PropertyError with the NTSTATUS name and
a message that names the item, the pin and the sizes involved.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import UUID

from dmusd.errors import PropertyError

KSPROPERTY_TYPE_GET = 0x00000001
KSPROPERTY_TYPE_SET = 0x00000002
KSPROPERTY_TYPE_BASICSUPPORT = 0x00000200
KSPROPERTY_TYPE_TOPOLOGY = 0x10000000  # a node property (KSNODEPROPERTY); accepted and ignored
_VERBS = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET | KSPROPERTY_TYPE_BASICSUPPORT

# The NTSTATUS values this layer reports, by name (the name is what errors and results carry).
NTSTATUS = {
    "STATUS_SUCCESS": 0x00000000,
    "STATUS_NOT_ALL_ASSIGNED": 0x00000106,  # success: some requested values were changed
    "STATUS_BUFFER_OVERFLOW": 0x80000005,  # warning: here is the size you need
    "STATUS_UNSUCCESSFUL": 0xC0000001,
    "STATUS_INVALID_HANDLE": 0xC0000008,
    "STATUS_INVALID_PARAMETER": 0xC000000D,
    "STATUS_INVALID_DEVICE_REQUEST": 0xC0000010,
    "STATUS_BUFFER_TOO_SMALL": 0xC0000023,
    "STATUS_INSUFFICIENT_RESOURCES": 0xC000009A,
    "STATUS_NOT_SUPPORTED": 0xC00000BB,
    "STATUS_INVALID_DEVICE_STATE": 0xC0000184,
    "STATUS_NOT_FOUND": 0xC0000225,
}

_VERB_NAMES = {
    KSPROPERTY_TYPE_GET: "GET",
    KSPROPERTY_TYPE_SET: "SET",
    KSPROPERTY_TYPE_BASICSUPPORT: "BASICSUPPORT",
}


def verb_names(flags: int) -> str:
    """'GET|SET' for a set of verb bits."""
    return "|".join(name for bit, name in _VERB_NAMES.items() if flags & bit) or "none"


class Target(Enum):
    """What a property item acts on."""

    FILTER = "filter"  # the device as a whole; a pin, if given, is ignored
    PIN = "pin"  # one pin instance's stream (the DDI's MinorTarget); required
    ANY = "any"  # works without a pin, and with one (e.g. KSPROPERTY_SYNTH_CAPS)


@dataclass(slots=True, frozen=True)
class PropertyDescriptor:
    """What the DDI says about one item: its verbs, the size of its value and instance data."""

    set_id: UUID
    item: int
    name: str  # e.g. "KSPROPERTY_SYNTH_VOLUME"
    verbs: int  # the verbs the DDI allows (GET / SET bits)
    value_size: int  # bytes of the value; 0 = the item has no value (e.g. DLS COMPACT)
    instance_size: int = 0  # minimum bytes of instance data after the KS(NODE)PROPERTY header
    instance_name: str = ""  # the instance structure's name, for error messages
    target: Target = Target.PIN


@dataclass(slots=True)
class PropertyRequest:
    """One KS property request. Build it with PropertyRequest.get / .set / .basic_support."""

    set_id: UUID
    item: int
    flags: int
    pin: int | None = None  # the pin instance targeted (MinorTarget); None = the filter
    instance: bytes = b""  # instance data after the KSPROPERTY / KSNODEPROPERTY header
    value: bytes = b""  # SET: the value
    size: int | None = None  # the value buffer's size; None = len(value)

    @property
    def value_size(self) -> int:
        return len(self.value) if self.size is None else self.size

    @classmethod
    def get(
        cls, set_id: UUID, item: int, size: int, *, pin: int | None = None, instance: bytes = b""
    ) -> PropertyRequest:
        """A GET with a value buffer of `size` bytes (0 asks for the size needed)."""
        return cls(set_id, item, KSPROPERTY_TYPE_GET, pin, bytes(instance), b"", size)

    @classmethod
    def set(
        cls, set_id: UUID, item: int, value: bytes, *, pin: int | None = None, instance: bytes = b""
    ) -> PropertyRequest:
        return cls(set_id, item, KSPROPERTY_TYPE_SET, pin, bytes(instance), bytes(value))

    @classmethod
    def basic_support(
        cls, set_id: UUID, item: int, size: int = 4, *, pin: int | None = None
    ) -> PropertyRequest:
        return cls(set_id, item, KSPROPERTY_TYPE_BASICSUPPORT, pin, b"", b"", size)


@dataclass(slots=True)
class PropertyResult:
    """A request that succeeded (STATUS_SUCCESS, _NOT_ALL_ASSIGNED) or asked for a size.

    `size` is the byte count the DDI returns in Irp->IoStatus.Information: the bytes of `value`,
    or for STATUS_BUFFER_OVERFLOW the size the caller needs.
    """

    status: str
    value: bytes = b""
    size: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("STATUS_SUCCESS", "STATUS_NOT_ALL_ASSIGNED")

    def ulong(self) -> int:
        """The value read as a little-endian ULONG (for 4-byte items)."""
        return struct.unpack_from("<I", self.value)[0]


# A handler gets the request and the targeted stream (None for the filter) and returns the GET
# value (bytes), None for a SET, or a PropertyResult to report STATUS_NOT_ALL_ASSIGNED.
PropertyHandler = Callable[[PropertyRequest, Any], "bytes | PropertyResult | None"]


@dataclass(slots=True)
class PropertyItem:
    """A handled item (the DDI's PCPROPERTY_ITEM): a descriptor, a handler, the verbs it takes."""

    descriptor: PropertyDescriptor
    handler: PropertyHandler
    verbs: int | None = None  # a subset of the descriptor's verbs; None = all of them

    @property
    def supported(self) -> int:
        verbs = self.descriptor.verbs if self.verbs is None else self.verbs & self.descriptor.verbs
        return verbs & (KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET)


class PropertyDispatcher:
    """Routes requests to handlers with KS semantics (the port's automation-table walk).

    `resolve_pin(pin)` turns a request's pin into the stream the handler gets; it raises
    PropertyError itself when no such pin is open.
    """

    def __init__(
        self,
        items: Iterable[PropertyItem],
        resolve_pin: Callable[[int], Any],
        set_names: Mapping[UUID, str] | None = None,
    ) -> None:
        self._items: dict[UUID, dict[int, PropertyItem]] = {}
        for item in items:
            d = item.descriptor
            by_id = self._items.setdefault(d.set_id, {})
            if d.item in by_id:
                raise ValueError(f"property {d.name} is handled twice")
            by_id[d.item] = item
        self._resolve_pin = resolve_pin
        self._set_names = dict(set_names or {})

    def set_name(self, set_id: UUID) -> str:
        return self._set_names.get(set_id, f"{{{set_id}}}")

    def items(self) -> list[PropertyDescriptor]:
        return [item.descriptor for by_id in self._items.values() for item in by_id.values()]

    def dispatch(self, request: PropertyRequest) -> PropertyResult:
        item = self._find(request)
        d = item.descriptor
        where = d.name if request.pin is None else f"{d.name} on pin {request.pin}"
        verb = request.flags & _VERBS
        if verb not in _VERB_NAMES:
            raise PropertyError(
                "STATUS_INVALID_PARAMETER",
                f"flags 0x{request.flags:x} must name exactly one of GET, SET, BASICSUPPORT",
                where=where,
            )
        if verb == KSPROPERTY_TYPE_BASICSUPPORT:
            need = 4
            value = struct.pack("<I", KSPROPERTY_TYPE_BASICSUPPORT | item.supported)
            return self._fit(request, need, where) or PropertyResult("STATUS_SUCCESS", value, need)
        if not verb & item.supported:
            raise PropertyError(
                "STATUS_INVALID_DEVICE_REQUEST",
                f"{_VERB_NAMES[verb]} is not supported (supported: {verb_names(item.supported)})",
                where=where,
            )
        stream = None
        if d.target is Target.PIN and request.pin is None:
            raise PropertyError(
                "STATUS_INVALID_DEVICE_REQUEST", "this item needs a pin to target", where=where
            )
        if d.target is not Target.FILTER and request.pin is not None:
            stream = self._resolve_pin(request.pin)
        probe = self._fit(request, d.value_size, where)
        if probe is not None:  # a size probe needs no instance data
            return probe
        if len(request.instance) < d.instance_size:
            raise PropertyError(
                "STATUS_INVALID_PARAMETER",
                f"instance data of {len(request.instance)} bytes given, "
                f"{d.instance_name or 'the instance'} needs {d.instance_size}",
                where=where,
            )
        try:
            out = item.handler(request, stream)
        except PropertyError as error:
            if error.where is None:
                error.where = where
            raise
        return self._result(out, verb, d, where)

    def _find(self, request: PropertyRequest) -> PropertyItem:
        by_id = self._items.get(request.set_id)
        if by_id is None:
            raise PropertyError(
                "STATUS_NOT_FOUND", f"property set {self.set_name(request.set_id)} is not supported"
            )
        item = by_id.get(request.item)
        if item is None:
            raise PropertyError(
                "STATUS_NOT_FOUND",
                f"item {request.item} of {self.set_name(request.set_id)} is not supported",
            )
        return item

    @staticmethod
    def _fit(request: PropertyRequest, need: int, where: str) -> PropertyResult | None:
        """The KS size rule: None when the buffer is big enough, else the probe answer."""
        given = request.value_size
        if need == 0 or given >= need:
            return None
        if given == 0:
            return PropertyResult("STATUS_BUFFER_OVERFLOW", b"", need)
        raise PropertyError(
            "STATUS_BUFFER_TOO_SMALL", f"buffer of {given} bytes given, {need} needed", where=where
        )

    @staticmethod
    def _result(out: object, verb: int, d: PropertyDescriptor, where: str) -> PropertyResult:
        if isinstance(out, PropertyResult):
            result = out
        elif verb == KSPROPERTY_TYPE_GET:
            value = bytes(out) if out is not None else b""
            result = PropertyResult("STATUS_SUCCESS", value, len(value))
        else:
            result = PropertyResult("STATUS_SUCCESS")
        if verb == KSPROPERTY_TYPE_GET and len(result.value) != d.value_size:
            raise PropertyError(
                "STATUS_UNSUCCESSFUL",
                f"the handler returned {len(result.value)} bytes, not {d.value_size}",
                where=where,
            )
        return result
