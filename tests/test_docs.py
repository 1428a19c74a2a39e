"""The guide's code is real: every snippet in docs/ parses, imports names that exist, passes
keyword arguments the callee takes, uses attributes the objects have, and its example tests
pass; every ``trio-plivo`` command line in it parses. (The API reference is generated from
the code; ``nox -s docs`` builds the site and checks that it covers every public name.)"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import shlex
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

from trio_plivo import Call, MarkResult
from trio_plivo.cli import build_parser
from trio_plivo.server import StreamServer
from trio_plivo.testing import CallReport
from trio_plivo.testing.pytest_plugin import PlivoSimulator
from trio_plivo.web import PlivoFront

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)

#: What the snippets' conventional variable names hold, so ``call.play`` & co are checked.
VARIABLE_TYPES: dict[str, type] = {
    "call": Call,
    "report": CallReport,
    "result": MarkResult,
    "server": StreamServer,
    "front": PlivoFront,
}


def _blocks(language: str, *, readme: bool = False) -> list[Any]:
    found = []
    paths = sorted(DOCS.rglob("*.md")) + ([README] if readme else [])
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match[1] == language:
                line = text.count("\n", 0, match.start()) + 2
                name = f"{path.relative_to(DOCS.parent)}:{line}"
                found.append(pytest.param(match[2], id=name))
    return found


PYTHON = _blocks("python")
#: Command lines: the guide's and the README's (``sh`` blocks), and the module docstrings'.
SHELL = _blocks("sh", readme=True)


def test_the_guide_has_snippets() -> None:
    assert len(PYTHON) >= 5
    assert len(SHELL) >= 3


def _imported(tree: ast.Module) -> dict[str, Any]:
    """Every name the snippet imports, resolved (a missing one fails here)."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                names[alias.asname or alias.name] = getattr(module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
    return names


def _has_attribute(owner: Any, name: str) -> bool:
    if hasattr(owner, name):
        return True
    if inspect.isclass(owner):
        if attrs.has(owner) and name in attrs.fields_dict(owner):
            return True
        return any(name in inspect.get_annotations(c) for c in owner.__mro__)
    return False


def _accepts(function: Any, keyword: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True  # no signature to check against
    return keyword in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


@pytest.mark.parametrize("code", PYTHON)
def test_python_snippet_uses_real_names(code: str) -> None:
    tree = ast.parse(code)
    names = _imported(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = node.value.id
            owner = names.get(base, VARIABLE_TYPES.get(base))
            if owner is not None and not inspect.ismodule(owner):
                assert _has_attribute(owner, node.attr), f"{base}.{node.attr} does not exist"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            callee = names.get(node.func.id)
            if callee is not None and callable(callee):
                for keyword in node.keywords:
                    if keyword.arg is not None:
                        assert _accepts(callee, keyword.arg), (
                            f"{node.func.id}() takes no {keyword.arg}="
                        )


EXAMPLE_TESTS = [
    p for p in PYTHON if re.search(r"^async def test_\w+\(plivo_sim\)", p.values[0], re.M)
]


def test_the_testing_guide_has_example_tests() -> None:
    assert EXAMPLE_TESTS


@pytest.mark.parametrize("code", EXAMPLE_TESTS)
def test_example_tests_in_the_guide_pass(code: str) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(code, "<docs example>", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        simulator = PlivoSimulator()  # the fixture: it is also the clock
        trio.run(test, simulator, clock=simulator)


def _command_lines(code: str) -> list[list[str]]:
    """Each ``trio-plivo`` command in a shell block, as its arguments. Continuation lines are
    joined, and ``[--json]`` (an optional part, as usage lines write it) is checked as
    ``--json``."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        line = re.sub(r"\[(--[^\]]*)\]", r"\1", line)
        words = shlex.split(line, comments=True)
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            words.pop(0)  # environment assignments
        if words and words[-1] == "&":
            words.pop()
        if words and words[0] == "trio-plivo":
            commands.append(words[1:])
    return commands


def _exact_parser() -> argparse.ArgumentParser:
    """The CLI's parser, refusing abbreviated options (``--lead`` for ``--lead-ms``)."""
    parser = build_parser()
    pending = [parser]
    while pending:
        current = pending.pop()
        current.allow_abbrev = False
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())
    return parser


@pytest.mark.parametrize("code", SHELL)
def test_command_lines_parse(code: str) -> None:
    parser = _exact_parser()
    for words in _command_lines(code):
        try:
            parser.parse_args(words)
        except SystemExit:
            pytest.fail(f"trio-plivo {shlex.join(words)}: not a valid command line")


def _docstring_examples() -> list[Any]:
    """The ``::`` code blocks of every module docstring in the package."""
    import pkgutil
    import textwrap

    import trio_plivo

    found = []
    for module in pkgutil.walk_packages(trio_plivo.__path__, "trio_plivo."):
        if module.name.endswith("__main__") or ".pytest_plugin" in module.name:
            continue
        doc = importlib.import_module(module.name).__doc__ or ""
        for match in re.finditer(r"::\n\n((?:(?:    .*)?\n)+)", doc + "\n"):
            block = textwrap.dedent(match[1])
            if not re.search(r"^(from \w|import \w|async def |await |\w+ = \w)", block, re.M):
                continue  # a diagram, a table or a wire format, not Python
            found.append(pytest.param(block, id=module.name))
    return found


DOCSTRING_EXAMPLES = _docstring_examples()


def test_module_docstrings_have_examples() -> None:
    assert len(DOCSTRING_EXAMPLES) >= 3


@pytest.mark.parametrize("code", DOCSTRING_EXAMPLES)
def test_module_docstring_examples_parse_and_import_real_names(code: str) -> None:
    tree = ast.parse(code)  # top-level await is fine inside ``async def`` examples
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
