"""The survivors of one module's cosmic-ray session as diffs, those named in EQUIVALENT left out:

    python scripts/mutation_show.py MODULE [WORK]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(module: str, work: str = str(ROOT / ".mutation")) -> int:
    sys.path.insert(0, str(ROOT / "scripts"))
    from mutation import outcomes

    session = Path(work) / (module.replace("/", "__").removesuffix(".py") + ".sqlite")
    for name, kind, _, diff in outcomes(session):
        if kind == "survivor":
            print(f"== {name}")
            print("\n".join(d for d in (diff or "").splitlines() if d[:1] in "+-" and d[:3] not in ("---", "+++")))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
