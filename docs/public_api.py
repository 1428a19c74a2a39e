"""The public surface, found from the code: every public namespace and the names in its
``__all__``. Used to generate the API reference (``gen_ref.py``) and to check that the built
site documents every public name (``check_reference.py``)."""

from __future__ import annotations

import importlib
import pkgutil

import trio_plivo


def public_namespaces() -> dict[str, list[str]]:
    """``{module name: its __all__}`` for the package and each public module below it."""
    names = ["trio_plivo"]
    for info in pkgutil.walk_packages(trio_plivo.__path__, "trio_plivo."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    found = {}
    for name in names:
        exported = getattr(importlib.import_module(name), "__all__", None)
        if exported:
            found[name] = list(exported)
    return found


def canonical_homes() -> dict[str, str]:
    """``{qualified public name: the namespace page that documents it}``: the deepest public
    namespace exporting the object (``trio_plivo.Call`` is documented under ``trio_plivo.call``)."""
    namespaces = public_namespaces()
    homes: dict[int, str] = {}
    for namespace in sorted(namespaces, key=lambda n: -n.count(".")):
        module = importlib.import_module(namespace)
        for name in namespaces[namespace]:
            homes.setdefault(id(getattr(module, name)), namespace)
    result = {}
    for namespace, exported in namespaces.items():
        module = importlib.import_module(namespace)
        for name in exported:
            result[f"{namespace}.{name}"] = homes[id(getattr(module, name))]
    return result
