"""The dictionary as an XTCE 1.2 SpaceSystem, for other ground systems to import.

Telemetry: an abstract ``CCSDSPacket`` container holds the primary header; ``TMPacket``
(TYPE = 0) adds the PUS-C TM secondary header; beneath it, ``HKReport`` (service 3, subtype 25)
carries the structure ID and one container per housekeeping structure (restricted on APID and
SID), ``EventReport`` (service 5) the event ID and one container per event (APID, severity and
event ID), and a container per report (verification, are-you-alive, parameter value, and each
app's own, restricted on service and subtype, and APID for app reports). Every concrete
container ends in the 16-bit packet error control, whose encoding declares the CRC
(CRC-16/CCITT-FALSE from the first bit). ``TCPacket`` (TYPE = 1) carries the TC secondary header
and the application data as one binary field: telecommands are described, with their arguments,
in CommandMetaData — a MetaCommand per command, inheriting the header arguments and container
of an abstract ``PUSCommand`` (which fixes version, type, flags, APID, PUS version, service and
subtype; the sequence count, ack flags, source ID and length are the sender's), then the
function ID of PUS 8 functions, the arguments, and the PEC.

Variable-size fields (text, byte strings, msgpack: a length prefix, then the bytes) are modelled
as a length parameter (or argument) followed by a binary one whose size refers to it; a time is
its two CUC fields, coarse and fine. Everything else is one field per parameter or argument.

XTCE names may not contain dots: ``EPS.BATTERY_SOC`` is ``EPS__BATTERY_SOC`` (our names never
contain a double underscore), with the dotted name as an alias in the ``dawndusk`` namespace.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from common.dictionary.model import Arg, Command, Limits, Param
from common.dictionary.registry import Dictionary
from common.dictionary.standard import STANDARD_REPORTS
from common.dictionary.types import Blob, Bool, DataType, Enum, Float, Int, Msgpack, Str, Time, UInt

NS = "http://www.omg.org/spec/XTCE/20180204"
SCHEMA = "https://www.omg.org/spec/XTCE/20180204/SpaceSystem.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ALIAS_NAMESPACE = "dawndusk"

ET.register_namespace("xtce", NS)
ET.register_namespace("xsi", XSI)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {k: str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def xtce_name(name: str) -> str:
    """An XTCE name for a dotted dawndusk name."""
    return name.replace(".", "__")


# (header field, bits, signed)
PRIMARY = [("VERSION", 3), ("TYPE", 1), ("SEC_HDR_FLG", 1), ("PKT_APID", 11), ("SEQ_FLGS", 2),
           ("SRC_SEQ_CTR", 14), ("PKT_LEN", 16)]
TM_SECONDARY = [("PUS_VERSION", 4), ("TIME_REF", 4), ("SERVICE", 8), ("SUBTYPE", 8),
                ("MSG_COUNTER", 16), ("DEST_ID", 16), ("TIME_COARSE", 32), ("TIME_FINE", 16)]
TC_SECONDARY = [("TC_PUS_VERSION", 4), ("ACK_FLAGS", 4), ("TC_SERVICE", 8), ("TC_SUBTYPE", 8),
                ("SOURCE_ID", 16)]


class _Builder:
    """Accumulates parameter types, parameters and containers without duplicates."""

    def __init__(self, root: ET.Element) -> None:
        telemetry = _el(root, "TelemetryMetaData")
        self.types = _el(telemetry, "ParameterTypeSet")
        self.params = _el(telemetry, "ParameterSet")
        self.containers = _el(telemetry, "ContainerSet")
        self._type_names: dict[tuple[Any, ...], str] = {}
        self._param_names: set[str] = set()

    # --- types ----------------------------------------------------------------------------------

    def uint_type(self, bits: int) -> str:
        key = ("uint", bits)
        if key not in self._type_names:
            name = f"uint{bits}_Type"
            element = _el(self.types, "IntegerParameterType", name=name, signed="false",
                          sizeInBits=max(bits, 8))
            _el(element, "UnitSet")
            _el(element, "IntegerDataEncoding", sizeInBits=bits, encoding="unsigned")
            self._type_names[key] = name
        return self._type_names[key]

    def binary_type(self, size_param: str) -> str:
        key = ("binary", size_param)
        if key not in self._type_names:
            name = f"{size_param}__BYTES_Type"
            element = _el(self.types, "BinaryParameterType", name=name)
            _el(element, "UnitSet")
            encoding = _el(element, "BinaryDataEncoding")
            dynamic = _el(_el(encoding, "SizeInBits"), "DynamicValue")
            _el(dynamic, "ParameterInstanceRef", parameterRef=size_param)
            _el(dynamic, "LinearAdjustment", slope="8", intercept="0")
            self._type_names[key] = name
        return self._type_names[key]

    def data_type(self, datatype: DataType, unit: str, limits: Limits | None, owner: str) -> str:
        """The type of a fixed-size field (one per distinct type, unit and limits)."""
        if isinstance(datatype, UInt) and not unit and limits is None:
            return self.uint_type(datatype.bits)
        key: tuple[Any, ...] = (type(datatype).__name__, getattr(datatype, "bits", 8), unit,
                                tuple(getattr(datatype, "labels", {}).items()), limits)
        if key in self._type_names:
            return self._type_names[key]
        name = f"{owner}_Type" if limits is not None or isinstance(datatype, Enum) else \
            f"{type(datatype).__name__.lower()}{getattr(datatype, 'bits', 8)}" \
            f"{'_' + ''.join(c for c in unit if c.isalnum()) if unit else ''}_Type"
        if isinstance(datatype, Float):
            element = _el(self.types, "FloatParameterType", name=name,
                          sizeInBits=datatype.bits)
            self._units(element, unit)
            _el(element, "FloatDataEncoding", sizeInBits=datatype.bits, encoding="IEEE754_1985")
            self._alarm(element, limits)
        elif isinstance(datatype, UInt | Int):
            signed = isinstance(datatype, Int)
            element = _el(self.types, "IntegerParameterType", name=name,
                          signed=str(signed).lower(), sizeInBits=max(datatype.bits, 8))
            self._units(element, unit)
            _el(element, "IntegerDataEncoding", sizeInBits=datatype.bits,
                encoding="twosComplement" if signed else "unsigned")
            self._alarm(element, limits)
        elif isinstance(datatype, Enum):
            element = _el(self.types, "EnumeratedParameterType", name=name)
            self._units(element, unit)
            _el(element, "IntegerDataEncoding", sizeInBits=datatype.bits, encoding="unsigned")
            listing = _el(element, "EnumerationList")
            for label, value in datatype.labels.items():
                _el(listing, "Enumeration", value=value, label=label)
        elif isinstance(datatype, Bool):
            element = _el(self.types, "BooleanParameterType", name=name)
            self._units(element, unit)
            _el(element, "IntegerDataEncoding", sizeInBits=8, encoding="unsigned")
        else:
            raise TypeError(f"{owner}: no fixed XTCE type for {datatype!r}")
        self._type_names[key] = name
        return name

    @staticmethod
    def _units(element: ET.Element, unit: str) -> None:
        units = _el(element, "UnitSet")
        if unit:
            _el(units, "Unit", unit)

    @staticmethod
    def _alarm(element: ET.Element, limits: Limits | None) -> None:
        if limits is None:
            return
        ranges = _el(_el(element, "DefaultAlarm", minViolations=limits.persistence),
                     "StaticAlarmRanges")
        for tag, lo, hi in (("WarningRange", limits.warn_low, limits.warn_high),
                            ("CriticalRange", limits.danger_low, limits.danger_high)):
            if lo is None and hi is None:
                continue
            attrs = {}
            if lo is not None:
                attrs["minInclusive"] = repr(float(lo))
            if hi is not None:
                attrs["maxInclusive"] = repr(float(hi))
            _el(ranges, tag, **attrs)

    # --- parameters ------------------------------------------------------------------------------

    def parameter(self, name: str, type_ref: str, description: str = "",
                  alias: str | None = None) -> str:
        if name in self._param_names:
            return name
        self._param_names.add(name)
        element = _el(self.params, "Parameter", name=name, parameterTypeRef=type_ref,
                      **({"shortDescription": description[:80]} if description else {}))
        if alias is not None:
            _el(_el(element, "AliasSet"), "Alias", nameSpace=ALIAS_NAMESPACE, alias=alias)
        return name

    def fields(self, owner: str, fields: Iterable[Arg | Param]) -> list[str]:
        """Parameter names, in order, for the fields of a structure, event or report."""
        out: list[str] = []
        for item in fields:
            if isinstance(item, Param):
                name = xtce_name(item.name)
                type_ref = self.data_type(item.type, item.unit, item.limits, name)
                out.append(self.parameter(name, type_ref, item.description, item.name))
                continue
            name = f"{owner}__{item.name.upper()}"
            datatype = item.type
            if isinstance(datatype, Time):
                out.append(self.parameter(f"{name}__COARSE", self.uint_type(32)))
                out.append(self.parameter(f"{name}__FINE", self.uint_type(16)))
            elif isinstance(datatype, Blob | Msgpack):
                length = self.parameter(f"{name}__LEN", self.uint_type(16))
                out += [length, self.parameter(name, self.binary_type(length))]
            elif isinstance(datatype, Str):
                length = self.parameter(f"{name}__LEN", self.uint_type(8))
                out += [length, self.parameter(name, self.binary_type(length))]
            else:
                type_ref = self.data_type(datatype, item.unit, None, name)
                out.append(self.parameter(name, type_ref, item.description))
        return out

    # --- containers ----------------------------------------------------------------------------

    def container(self, name: str, entries: list[str], base: str | None = None,
                  restrictions: dict[str, int] | None = None, abstract: bool = False,
                  description: str = "") -> None:
        attrs: dict[str, Any] = {"name": name}
        if abstract:
            attrs["abstract"] = "true"
        if description:
            attrs["shortDescription"] = description[:80]
        element = _el(self.containers, "SequenceContainer", **attrs)
        listing = _el(element, "EntryList")
        for entry in entries:
            _el(listing, "ParameterRefEntry", parameterRef=entry)
        if base is not None:
            base_element = _el(element, "BaseContainer", containerRef=base)
            if restrictions:
                criteria = _el(base_element, "RestrictionCriteria")
                if len(restrictions) == 1:
                    (param, value), = restrictions.items()
                    _el(criteria, "Comparison", parameterRef=param, value=value)
                else:
                    group = _el(criteria, "ComparisonList")
                    for param, value in restrictions.items():
                        _el(group, "Comparison", parameterRef=param, value=value)


def _telemetry(builder: _Builder, dictionary: Dictionary) -> None:
    header = [builder.parameter(name, builder.uint_type(bits)) for name, bits in PRIMARY]
    builder.container("CCSDSPacket", header, abstract=True,
                      description="CCSDS Space Packet primary header")
    tm = [builder.parameter(name, builder.uint_type(bits)) for name, bits in TM_SECONDARY]
    builder.container("TMPacket", tm, "CCSDSPacket", {"TYPE": 0}, abstract=True,
                      description="PUS-C telemetry secondary header")
    builder.types.append(_pec_type("IntegerParameterType", "PEC_Type"))
    pec = builder.parameter("PEC", "PEC_Type", "CRC-16/CCITT-FALSE over the whole packet")
    tc = [builder.parameter(name, builder.uint_type(bits)) for name, bits in TC_SECONDARY]
    builder.types.append(_tc_data_type())
    builder.parameter("TC_APP_DATA", "TC_APP_DATA_Type")
    builder.container("TCPacket", [*tc, "TC_APP_DATA", pec], "CCSDSPacket", {"TYPE": 1},
                      description="PUS-C telecommand (arguments: see CommandMetaData)")
    sid = builder.parameter("SID", builder.uint_type(16), "housekeeping structure ID")
    builder.container("HKReport", [sid], "TMPacket", {"SERVICE": 3, "SUBTYPE": 25},
                      abstract=True, description="PUS 3 housekeeping parameter report")
    event_id = builder.parameter("EVENT_ID", builder.uint_type(16), "event ID")
    builder.container("EventReport", [event_id], "TMPacket", {"SERVICE": 5}, abstract=True,
                      description="PUS 5 event report")
    for app in dictionary.apps.values():
        for structure in app.structures:
            entries = builder.fields(xtce_name(structure.name), structure.params)
            builder.container(xtce_name(structure.name), [*entries, pec], "HKReport",
                              {"PKT_APID": app.apid, "SID": structure.sid},
                              description=structure.description)
        for event in app.events:
            entries = builder.fields(xtce_name(event.name), event.args)
            builder.container(xtce_name(event.name), [*entries, pec], "EventReport",
                              {"PKT_APID": app.apid, "SUBTYPE": int(event.severity),
                               "EVENT_ID": event.event_id}, description=event.message)
        for report in app.reports:
            entries = builder.fields(xtce_name(report.name), report.fields)
            builder.container(xtce_name(report.name), [*entries, pec], "TMPacket",
                              {"PKT_APID": app.apid, "SERVICE": report.service,
                               "SUBTYPE": report.subtype}, description=report.description)
    for report in STANDARD_REPORTS:
        entries = builder.fields(xtce_name(report.name), report.fields)
        builder.container(xtce_name(report.name), [*entries, pec], "TMPacket",
                          {"SERVICE": report.service, "SUBTYPE": report.subtype},
                          description=report.description)


def _crc(encoding: ET.Element) -> None:
    """Declare CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) from
    the packet's first bit: what the packet error control holds."""
    crc = _el(_el(encoding, "ErrorDetectCorrect"), "CRC", width="16", reflectData="false",
              reflectRemainder="false", bitsFromReference="0", reference="start")
    _el(crc, "Polynomial", "1021")
    _el(crc, "InitRemainder", "FFFF")
    _el(crc, "FinalXOR", "0000")


def _pec_type(tag: str, name: str) -> ET.Element:
    """The packet error control's type (a parameter or an argument type)."""
    element = ET.Element(_q(tag), {"name": name, "signed": "false", "sizeInBits": "16"})
    _el(element, "UnitSet")
    _crc(_el(element, "IntegerDataEncoding", sizeInBits="16", encoding="unsigned"))
    return element


def _tc_data_type() -> ET.Element:
    # Size: the packet data field (PKT_LEN + 1 bytes) less the TC secondary header (5) and the
    # packet error control (2): (PKT_LEN + 1 - 7) × 8 bits.
    element = ET.Element(_q("BinaryParameterType"), {"name": "TC_APP_DATA_Type"})
    _el(element, "UnitSet")
    encoding = _el(element, "BinaryDataEncoding")
    dynamic = _el(_el(encoding, "SizeInBits"), "DynamicValue")
    _el(dynamic, "ParameterInstanceRef", parameterRef="PKT_LEN")
    _el(dynamic, "LinearAdjustment", slope="8", intercept="-48")
    return element


# --- commands ------------------------------------------------------------------------------------


def _argument_type(parent: ET.Element, name: str, datatype: DataType, unit: str) -> str:
    """The argument type of one fixed-size wire field."""
    type_name = f"{name}_ArgType"
    if isinstance(datatype, Float):
        element = _el(parent, "FloatArgumentType", name=type_name, sizeInBits=datatype.bits)
        _units(element, unit)
        _el(element, "FloatDataEncoding", sizeInBits=datatype.bits, encoding="IEEE754_1985")
        _range(element, datatype.lo, datatype.hi, "ValidRangeSet", float)
    elif isinstance(datatype, UInt | Int):
        signed = isinstance(datatype, Int)
        element = _el(parent, "IntegerArgumentType", name=type_name,
                      signed=str(signed).lower(), sizeInBits=max(datatype.bits, 8))
        _units(element, unit)
        _el(element, "IntegerDataEncoding", sizeInBits=datatype.bits,
            encoding="twosComplement" if signed else "unsigned")
        _range(element, datatype.minimum, datatype.maximum, "ValidRangeSet", int)
    elif isinstance(datatype, Enum):
        element = _el(parent, "EnumeratedArgumentType", name=type_name)
        _units(element, unit)
        _el(element, "IntegerDataEncoding", sizeInBits=datatype.bits, encoding="unsigned")
        listing = _el(element, "EnumerationList")
        for label, value in datatype.labels.items():
            _el(listing, "Enumeration", value=value, label=label)
    elif isinstance(datatype, Bool):
        element = _el(parent, "BooleanArgumentType", name=type_name)
        _units(element, unit)
        _el(element, "IntegerDataEncoding", sizeInBits=8, encoding="unsigned")
    else:
        raise TypeError(f"{name}: no fixed XTCE argument type for {datatype!r}")
    return type_name


def _binary_argument_type(parent: ET.Element, name: str, size_argument: str) -> str:
    """A byte string whose length (in bytes) is the value of the argument ``size_argument``."""
    type_name = f"{name}_ArgType"
    element = _el(parent, "BinaryArgumentType", name=type_name)
    _el(element, "UnitSet")
    encoding = _el(element, "BinaryDataEncoding")
    dynamic = _el(_el(encoding, "SizeInBits"), "DynamicValue")
    _el(dynamic, "ArgumentInstanceRef", argumentRef=size_argument)
    _el(dynamic, "LinearAdjustment", slope="8", intercept="0")
    return type_name


def command_fields(arg: Arg) -> list[tuple[str, DataType | None, str]]:
    """The XTCE arguments of one command argument, in wire order: (name, type, size argument).

    Fixed-size types are one argument; a time is two (``_coarse`` TAI seconds and ``_fine``
    1/65536 s); text, bytes and msgpack are a length argument ``_len`` (bytes) then the bytes
    (type None, sized by the length argument), as they are on the wire.
    """
    datatype = arg.type
    if isinstance(datatype, Time):
        return [(f"{arg.name}_coarse", UInt(32), ""), (f"{arg.name}_fine", UInt(16), "")]
    if isinstance(datatype, Str | Blob | Msgpack):
        length = f"{arg.name}_len"
        prefix = UInt(8, 0, datatype.max_len) if isinstance(datatype, Str) else \
            UInt(16, 0, datatype.max_len)
        return [(length, prefix, ""), (arg.name, None, length)]
    return [(arg.name, datatype, "")]


def _units(element: ET.Element, unit: str) -> None:
    units = _el(element, "UnitSet")
    if unit:
        _el(units, "Unit", unit)


def _range(element: ET.Element, lo: Any, hi: Any, tag: str, kind: type) -> None:
    if lo is None and hi is None:
        return
    attrs = {}
    if lo is not None and lo != float("-inf"):
        attrs["minInclusive"] = str(kind(lo))
    if hi is not None and hi != float("inf"):
        attrs["maxInclusive"] = str(kind(hi))
    if attrs:
        _el(_el(element, tag), "ValidRange", **attrs)


def _commands(root: ET.Element, dictionary: Dictionary) -> None:
    meta = _el(root, "CommandMetaData")
    arg_types = _el(meta, "ArgumentTypeSet")
    commands = _el(meta, "MetaCommandSet")
    base = _el(commands, "MetaCommand", name="PUSCommand", abstract="true",
               shortDescription="CCSDS primary header and PUS-C TC secondary header")
    arguments = _el(base, "ArgumentList")
    for name, bits in [*PRIMARY, *TC_SECONDARY]:
        type_name = _fixed_width_type(arg_types, bits)
        _el(arguments, "Argument", name=name, argumentTypeRef=type_name)
    arg_types.append(_pec_type("IntegerArgumentType", "PEC_ArgType"))
    _el(arguments, "Argument", name="PEC", argumentTypeRef="PEC_ArgType", initialValue="0",
        shortDescription="CRC-16/CCITT-FALSE over the whole packet")
    container = _el(base, "CommandContainer", name="PUSCommand_Container")
    entries = _el(container, "EntryList")
    for name, _bits in [*PRIMARY, *TC_SECONDARY]:
        _el(entries, "ArgumentRefEntry", argumentRef=name)
    for command in dictionary.commands.values():
        _command(commands, arg_types, command)


def _fixed_width_type(arg_types: ET.Element, bits: int) -> str:
    name = f"header{bits}_ArgType"
    if name not in {el.get("name") for el in arg_types}:
        element = _el(arg_types, "IntegerArgumentType", name=name, signed="false",
                      sizeInBits=max(8, bits))
        _el(element, "UnitSet")
        _el(element, "IntegerDataEncoding", sizeInBits=bits, encoding="unsigned")
    return name


def _command(commands: ET.Element, arg_types: ET.Element, command: Command) -> None:
    name = xtce_name(command.name)
    element = _el(commands, "MetaCommand", name=name,
                  shortDescription=command.description[:80])
    _el(_el(element, "AliasSet"), "Alias", nameSpace=ALIAS_NAMESPACE, alias=command.name)
    base = _el(element, "BaseMetaCommand", metaCommandRef="PUSCommand")
    assignments = _el(base, "ArgumentAssignmentList")
    fixed = {"VERSION": 0, "TYPE": 1, "SEC_HDR_FLG": 1, "PKT_APID": command.apid,
             "SEQ_FLGS": 3, "TC_PUS_VERSION": 2, "TC_SERVICE": command.service,
             "TC_SUBTYPE": command.subtype}
    for field, value in fixed.items():
        _el(assignments, "ArgumentAssignment", argumentName=field, argumentValue=value)
    wire = [(arg, *item) for arg in command.args for item in command_fields(arg)]
    if wire:
        listing = _el(element, "ArgumentList")
        for arg, field, datatype, size_argument in wire:
            type_base = f"{name}__{field.upper()}"
            if datatype is None:
                type_name = _binary_argument_type(arg_types, type_base, size_argument)
            else:
                type_name = _argument_type(arg_types, type_base, datatype,
                                           arg.unit if field == arg.name else "")
            description = arg.description if field == arg.name else \
                f"{arg.name}: {field.removeprefix(arg.name + '_')}"
            _el(listing, "Argument", name=field, argumentTypeRef=type_name,
                **({"shortDescription": description[:80]} if description else {}))
    container = _el(element, "CommandContainer", name=f"{name}_Container")
    entries = _el(container, "EntryList")
    # The header is the base container's (PUSCommand_Container); this one holds what follows.
    if command.function_id is not None:
        _el(entries, "FixedValueEntry", name="FUNCTION_ID",
            binaryValue=f"{command.function_id:04X}", sizeInBits="16")
    for _arg, field, _type, _size in wire:
        _el(entries, "ArgumentRefEntry", argumentRef=field)
    _el(entries, "ArgumentRefEntry", argumentRef="PEC")
    _el(container, "BaseContainer", containerRef="PUSCommand_Container")


def to_xtce(dictionary: Dictionary) -> str:
    """The XTCE 1.2 document (UTF-8 XML text)."""
    root = ET.Element(_q("SpaceSystem"), {
        "name": "dawndusk",
        f"{{{XSI}}}schemaLocation": f"{NS} {SCHEMA}",
        "shortDescription": f"dawndusk dictionary version {dictionary.version}",
    })
    _el(root, "Header", version=str(dictionary.version), classification="NotClassified",
        validationStatus="Working")
    builder = _Builder(root)
    _telemetry(builder, dictionary)
    _commands(root, dictionary)
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
