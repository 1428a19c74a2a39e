"""After ``mkdocs build``: every public name has its anchor in the built reference."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from public_api import canonical_homes

site = Path(sys.argv[1] if len(sys.argv) > 1 else "site")
missing = []
for qualified, home in canonical_homes().items():
    name = qualified.rsplit(".", 1)[1]
    page = site / "reference" / home / "index.html"
    if not page.exists() or f'id="{home}.{name}"' not in page.read_text(encoding="utf-8"):
        missing.append(qualified)
if missing:
    print(f"{len(missing)} public names missing from the reference:", *missing, sep="\n  ")
    sys.exit(1)
print(f"reference: all {len(canonical_homes())} public names documented")
