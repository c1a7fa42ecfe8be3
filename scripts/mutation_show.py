"""Show the survivors of one module's cosmic-ray session as diffs: python scripts/mutation_show.py MODULE [WORK]."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(module: str, work: str = str(ROOT / ".mutation")) -> int:
    session = Path(work) / (module.replace("/", "__").removesuffix(".py") + ".sqlite")
    dump = subprocess.run([str(Path(sys.executable).with_name("cosmic-ray")), "dump", str(session)],
                          capture_output=True, text=True, check=True).stdout
    for line in dump.splitlines():
        item, result = json.loads(line)
        if not result or result.get("test_outcome") != "survived":
            continue
        for m, d in zip(item["mutations"], result.get("diff") or [""] * len(item["mutations"])):
            print(f"== {m['module_path']}:{m['start_pos'][0]} {m['operator_name']}#{m['occurrence']}")
        print("\n".join(l for l in (result.get("diff") or "").splitlines() if l[:1] in "+-" and l[:3] not in ("---", "+++")))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
