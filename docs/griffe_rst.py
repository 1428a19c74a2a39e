"""A Griffe extension: the reStructuredText in the package's docstrings, read as Markdown.

The docstrings are written for the source and for ``help()``, in a little reStructuredText:
Sphinx roles for the names they mention (``:class:`~x.Y```), ``::`` before a literal block,
and a few simple tables. mkdocstrings renders docstrings as Markdown, so before rendering:

* a role becomes an *optional* cross-reference: a link when the name is documented in the
  reference, plain code otherwise (a private helper, say), so a docstring never breaks the
  strict build;
* a ``::`` literal-block marker becomes ``:`` (the indented block is already a Markdown code
  block), or goes away when it stands alone;
* a simple table (``=====  =====`` borders) becomes a Markdown table.

Only the loaded copy changes; the source is not touched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`<>]+)`")
TABLE_BORDER = re.compile(r"^\s*=+(?: +=+)+\s*$")


class ReStructuredText(griffe.Extension):
    """Rewrite every docstring of the package once it has loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _objects(pkg):
            if obj.docstring is not None:
                text = _literal_markers(_tables(obj.docstring.value))
                obj.docstring.value = ROLE.sub(lambda m, o=obj: _link(o, m), text)


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)  # type: ignore[arg-type]


# --- roles ------------------------------------------------------------------------------


def _link(scope: griffe.Object, match: re.Match[str]) -> str:
    short, target = match.groups()
    target = target.strip().removesuffix("()")
    shown = target.rsplit(".", 1)[-1] if short else target
    identifier = html.escape(_resolve(scope, target), quote=True)
    return (
        f'<autoref identifier="{identifier}" optional><code>{html.escape(shown)}</code></autoref>'
    )


def _resolve(scope: griffe.Object, target: str) -> str:
    """The full dotted path a role names, read the way the docstring's module sees it."""
    if target.startswith("."):
        module = scope.module
        package = module.path if module.is_init_module else module.path.rsplit(".", 1)[0]
        stripped = target.lstrip(".")
        for _ in range(len(target) - len(stripped) - 1):
            package = package.rsplit(".", 1)[0]
        return f"{package}.{stripped}"
    first, _, rest = target.partition(".")
    try:
        base = scope.resolve(first)
    except griffe.NameResolutionError:
        return target
    return f"{base}.{rest}" if rest else base


# --- literal blocks -----------------------------------------------------------------------


def _literal_markers(text: str) -> str:
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.rstrip().endswith("::") and _indented_block_follows(lines, i):
            line = line.rstrip()[:-1]
            if line.strip() == ":":
                continue
        out.append(line)
    return "\n".join(out)


def _indented_block_follows(lines: list[str], i: int) -> bool:
    indent = len(lines[i]) - len(lines[i].lstrip())
    for following in lines[i + 1 :]:
        if following.strip():
            return len(following) - len(following.lstrip()) > indent
    return False


# --- simple tables ------------------------------------------------------------------------


def _tables(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        borders = _table_at(lines, i)
        if borders is None:
            out.append(lines[i])
            i += 1
            continue
        end = borders[-1]
        out += ["", *_markdown_table(lines, borders), ""]
        i = end + 1
    return "\n".join(out)


def _table_at(lines: list[str], start: int) -> list[int] | None:
    """Indices of the three borders of a simple table starting at ``start``, if one does."""
    if not TABLE_BORDER.match(lines[start]):
        return None
    borders = [start]
    for j in range(start + 1, len(lines)):
        if lines[j].strip() == lines[start].strip():
            borders.append(j)
            if len(borders) == 3:
                return borders
        elif not lines[j].strip():
            return None
    return None


def _markdown_table(lines: list[str], borders: list[int]) -> list[str]:
    border = lines[borders[0]]
    spans = [m.span() for m in re.finditer(r"=+", border)]
    starts = [a for a, _ in spans]

    def cells(line: str) -> list[str]:
        bounds = [*starts[1:], None]
        return [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]

    def rows(first: int, last: int) -> list[list[str]]:
        result: list[list[str]] = []
        for line in lines[first:last]:
            row = cells(line)
            if result and not row[0]:  # a continuation line of the row above
                result[-1] = [f"{a} {b}".strip() for a, b in zip(result[-1], row, strict=True)]
            else:
                result.append(row)
        return result

    header = rows(borders[0] + 1, borders[1])
    body = rows(borders[1] + 1, borders[2])
    table = [*header, ["---"] * len(starts), *body]
    return ["| " + " | ".join(_escape_pipes(cell) for cell in row) + " |" for row in table]


def _escape_pipes(cell: str) -> str:
    """Escape ``|`` outside code spans (inside them the table extension leaves it alone, and
    a backslash would show)."""
    parts = re.split(r"(`+[^`]*`+)", cell)
    return "".join(part if part.startswith("`") else part.replace("|", "\\|") for part in parts)
