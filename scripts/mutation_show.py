"""The survivors of one module's cosmic-ray session as diffs, those named in EQUIVALENT left out:

    python scripts/mutation_show.py MODULE [WORK]
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(module: str, work: str = str(ROOT / ".mutation")) -> int:
    sys.path.insert(0, str(ROOT / "scripts"))
    from mutation import equivalent_reason, mutant_side

    session = Path(work) / (module.replace("/", "__").removesuffix(".py") + ".sqlite")
    dump = subprocess.run([str(Path(sys.executable).with_name("cosmic-ray")), "dump", str(session)],
                          capture_output=True, text=True, check=True).stdout
    for line in dump.splitlines():
        item, result = json.loads(line)
        if not result or result.get("test_outcome") != "survived":
            continue
        m = item["mutations"][0]
        op = m["operator_name"].removeprefix("core/")
        if equivalent_reason(m["module_path"], op, m["start_pos"][0], mutant_side(result.get("diff"))):
            continue
        print(f"== {m['module_path']}:{m['start_pos'][0]} {op}#{m['occurrence']}")
        diff = (result.get("diff") or "").splitlines()
        print("\n".join(d for d in diff if d[:1] in "+-" and d[:3] not in ("---", "+++")))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
