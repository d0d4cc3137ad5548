"""Every public name of ``wa_groups`` and ``wa_groups.webhooks`` has a
docstring (so ``help()`` says something), and the stubs in ``_native.pyi``
carry the built module's docstrings word for word."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wa_groups
import wa_groups._native as native
from wa_groups import webhooks

STUB = Path(native.__file__).with_name("_native.pyi")
if not STUB.exists():  # an installed (non-editable) package ships it beside
    STUB = Path(wa_groups.__file__).with_name("_native.pyi")


def public_names() -> Iterator[tuple[str, Any]]:
    """(qualified name, object) of every public class, function, method and
    property the two modules export."""
    for module in (wa_groups, webhooks):
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue  # constants such as DEFAULT_BASE_URL
            yield f"{module.__name__}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_"):
                        yield f"{module.__name__}.{name}.{attr}", member


PUBLIC = list(public_names())


def test_the_walk_sees_methods_and_properties() -> None:
    names = {n for n, _ in PUBLIC}
    assert "wa_groups.Client.approve_join_requests" in names
    assert "wa_groups.JoinRequest.join_request_id" in names
    assert "wa_groups.webhooks.GroupEvent.group_id" in names
    assert "wa_groups.webhooks.verify_signature" in names


def test_every_public_name_has_a_docstring() -> None:
    missing = [name for name, obj in PUBLIC if not (getattr(obj, "__doc__", None) or "").strip()]
    assert missing == []


def stub_docs() -> dict[str, str | None]:
    """Docstring of every class, function, method and property in the stub,
    by name in the extension module (``Class.attr``)."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    out: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = ast.get_docstring(node)
        elif isinstance(node, ast.ClassDef):
            out[node.name] = ast.get_docstring(node)
            for m in node.body:
                if isinstance(m, ast.FunctionDef) and not m.name.startswith("_"):
                    out[f"{node.name}.{m.name}"] = ast.get_docstring(m)
    return out


def native_public() -> Iterator[tuple[str, Any]]:
    """The ``PUBLIC`` names that come from the extension module, named as in
    the stub."""
    for qualified, obj in PUBLIC:
        parts = qualified.split(".")
        owner = parts[-2] if inspect.isclass(getattr(native, parts[-2], None)) else None
        if owner is not None and getattr(native, owner).__module__.startswith("wa_groups"):
            if getattr(getattr(native, owner), parts[-1], None) is not None:
                yield f"{owner}.{parts[-1]}", obj
                continue
        if getattr(native, parts[-1], None) is obj:
            yield parts[-1], obj


NATIVE = list(native_public())


def test_the_stub_is_compared_for_every_native_name() -> None:
    names = {n for n, _ in NATIVE}
    assert {"Client", "Client.list_join_requests", "JoinRequestPage.after", "parse"} <= names


@pytest.mark.parametrize("name,obj", NATIVE, ids=[n for n, _ in NATIVE])
def test_the_stub_carries_the_docstring(name: str, obj: Any) -> None:
    docs = stub_docs()
    assert name in docs, f"{name} is not in _native.pyi"
    assert docs[name] == inspect.getdoc(obj)
