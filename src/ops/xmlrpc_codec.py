"""XML-RPC requests and responses without ``xmlrpc.client``, whose import pulls in ``http.client``,
``email``, ``ssl`` and ``decimal``: most of the start-up time of a status command.

Only what supervisord's interface uses: strings, ints, booleans, doubles, nil, arrays, structs and
faults (base64 and dateTime are decoded as strings; supervisord sends neither). A unit test checks
both directions against ``xmlrpc.client``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.parsers import expat

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})

# supervisord writes log text into its responses as it is, so a program's colour codes (ESC) and
# other C0 controls arrive raw, which XML 1.0 forbids and expat rejects. They are moved to the
# private-use plane before parsing and moved back in the decoded text, so `tail` keeps them.
_CONTROLS = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_PRIVATE_BASE = 0xF0000
_HIDE = {c: chr(_PRIVATE_BASE + c).encode() for c in _CONTROLS}
_SHOW = str.maketrans({chr(_PRIVATE_BASE + c): chr(c) for c in _CONTROLS})


_CONTROL_RUN = re.compile(b"[" + re.escape(_CONTROLS) + b"]")


def _hide_controls(body: bytes) -> bytes:
    return _CONTROL_RUN.sub(lambda match: _HIDE[match.group()[0]], body)


class XmlRpcFault(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"<Fault {code}: {text!r}>")
        self.code = code
        self.text = text


class ResponseError(ValueError):
    """The body is not a well-formed XML-RPC response."""


def _value(value: Any) -> str:
    if value is None:
        return "<value><nil/></value>"
    if isinstance(value, bool):
        return f"<value><boolean>{int(value)}</boolean></value>"
    if isinstance(value, int):
        return f"<value><int>{value}</int></value>"
    if isinstance(value, float):
        return f"<value><double>{value!r}</double></value>"
    if isinstance(value, str):
        return f"<value><string>{value.translate(_ESCAPES)}</string></value>"
    if isinstance(value, (list, tuple)):
        return "<value><array><data>" + "".join(_value(v) for v in value) + "</data></array></value>"
    if isinstance(value, dict):
        members = "".join(
            f"<member><name>{str(k).translate(_ESCAPES)}</name>{_value(v)}</member>" for k, v in value.items()
        )
        return f"<value><struct>{members}</struct></value>"
    raise TypeError(f"cannot send {type(value).__name__} over XML-RPC")


def dumps_call(method: str, params: tuple[Any, ...]) -> bytes:
    body = "".join(f"<param>{_value(p)}</param>" for p in params)
    return (
        f"<?xml version='1.0'?>\n<methodCall><methodName>{method.translate(_ESCAPES)}</methodName>"
        f"<params>{body}</params></methodCall>"
    ).encode()


_SCALARS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "i4": int,
    "i8": int,
    "double": float,
    "string": str,
    "base64": str,
    "dateTime.iso8601": str,
    "boolean": lambda s: s.strip() == "1",
}


class _Decoder:
    """An expat handler building Python values from <value> elements."""

    def __init__(self) -> None:
        self.stack: list[Any] = []  # open arrays (list) and structs (dict)
        self.names: list[str] = []  # the member name waiting for its value, per open struct
        self.text: list[str] = []
        self.results: list[Any] = []
        self.fault = False
        self.typed = False  # a <value> held a type element (else its text is a string)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.text = []
        if tag == "value":
            self.typed = False
        elif tag == "array":
            self.stack.append([])
            self.typed = True
        elif tag == "struct":
            self.stack.append({})
            self.names.append("")
            self.typed = True
        elif tag == "fault":
            self.fault = True
        elif tag in _SCALARS or tag == "nil":
            self.typed = True

    def end(self, tag: str) -> None:
        text = "".join(self.text)
        if tag in _SCALARS:
            self._emit(_SCALARS[tag](text))
        elif tag == "nil":
            self._emit(None)
        elif tag == "value" and not self.typed:
            self._emit(text)
            self.typed = True
        elif tag == "name":
            self.names[-1] = text
        elif tag in ("array", "struct"):
            done = self.stack.pop()
            if tag == "struct":
                self.names.pop()
            self._emit(done)
        self.text = []

    def chars(self, data: str) -> None:
        self.text.append(data.translate(_SHOW))

    def _emit(self, value: Any) -> None:
        self.typed = True
        if not self.stack:
            self.results.append(value)
        elif isinstance(self.stack[-1], list):
            self.stack[-1].append(value)
        else:
            self.stack[-1][self.names[-1]] = value


def loads_response(body: bytes) -> Any:
    """The single value of a methodResponse; a <fault> raises :class:`XmlRpcFault`."""
    decoder = _Decoder()
    parser = expat.ParserCreate("utf-8")
    parser.StartElementHandler = decoder.start
    parser.EndElementHandler = decoder.end
    parser.CharacterDataHandler = decoder.chars
    parser.buffer_text = True
    try:
        parser.Parse(_hide_controls(body), True)
    except expat.ExpatError as exc:
        raise ResponseError(f"malformed XML-RPC response: {exc}") from None
    if len(decoder.results) != 1:
        raise ResponseError(f"expected one value in the response, got {len(decoder.results)}")
    result = decoder.results[0]
    if decoder.fault:
        raise XmlRpcFault(int(result.get("faultCode", 0)), str(result.get("faultString", "")))
    return result
