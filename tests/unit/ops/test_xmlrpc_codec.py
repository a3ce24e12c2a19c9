"""Our XML-RPC encoding and decoding agree with the standard library's, value for value."""

from __future__ import annotations

import xmlrpc.client

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ops.xmlrpc_codec import ResponseError, XmlRpcFault, dumps_call, loads_response

# What supervisord sends and takes: XML-safe text, 32-bit ints, booleans, lists and structs of them.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t"))
scalars = st.one_of(
    text, st.integers(-(2**31), 2**31 - 1), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_responses_from_the_standard_library_decode_to_the_same_value(value: object) -> None:
    body = xmlrpc.client.dumps((value,), methodresponse=True).encode()
    assert loads_response(body) == value


@given(st.lists(values, max_size=3), st.from_regex(r"[a-z]+\.[a-zA-Z]+", fullmatch=True))
def test_our_calls_decode_with_the_standard_library(params: list[object], method: str) -> None:
    decoded, name = xmlrpc.client.loads(dumps_call(method, tuple(params)))
    assert name == method and list(decoded) == params


def test_untyped_values_are_strings_and_nil_is_none() -> None:
    body = (
        b"<?xml version='1.0'?><methodResponse><params><param><value><array><data>"
        b"<value>plain &amp; simple</value><value></value><value><nil/></value>"
        b"</data></array></value></param></params></methodResponse>"
    )
    assert loads_response(body) == ["plain & simple", "", None]


def test_a_fault_raises_with_its_code() -> None:
    body = xmlrpc.client.dumps(xmlrpc.client.Fault(10, "BAD_NAME: nosuch"), methodresponse=True).encode()
    with pytest.raises(XmlRpcFault) as caught:
        loads_response(body)
    assert caught.value.code == 10 and caught.value.text == "BAD_NAME: nosuch"


def test_garbage_is_a_response_error() -> None:
    with pytest.raises(ResponseError):
        loads_response(b"<html>502 Bad Gateway")
