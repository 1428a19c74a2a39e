"""Writes the API reference pages at build time (run by the mkdocs-gen-files plugin): one page
per public namespace, one ``:::`` block per name it is the home of, and a table of re-exports,
so the reference follows the code and can never miss a public name."""

from __future__ import annotations

import sys
from pathlib import Path

import mkdocs_gen_files

sys.path.insert(0, str(Path(__file__).parent))
from public_api import canonical_homes, public_namespaces

namespaces = public_namespaces()
homes = canonical_homes()
nav = mkdocs_gen_files.Nav()
for namespace, exported in namespaces.items():
    path = Path("reference", f"{namespace}.md")
    nav[namespace.split(".")] = f"{namespace}.md"
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(f"# `{namespace}`\n\n::: {namespace}\n    options:\n      members: false\n\n")
        elsewhere = []
        for name in exported:
            home = homes[f"{namespace}.{name}"]
            if home == namespace:
                page.write(f"::: {namespace}.{name}\n\n")
            else:
                elsewhere.append((name, home))
        if elsewhere:
            page.write("## Also exported here\n\n| name | documented in |\n|---|---|\n")
            for name, home in elsewhere:
                page.write(f"| `{name}` | [`{home}`]({home}.md#{home}.{name}) |\n")
with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as summary:
    summary.writelines(nav.build_literate_nav())
