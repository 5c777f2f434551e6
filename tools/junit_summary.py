"""Print a JUnit XML report's verdict: counts, then each failed or errored test with the
first line of its message. tools/test.sh prints it as the last lines of a run."""

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        print(f"== verdict: no JUnit report ({exc})")
        return 1
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    bad = []
    for case in root.iter("testcase"):
        for kind in ("failure", "error"):
            node = case.find(kind)
            if node is not None:
                message = (node.get("message") or "").strip().splitlines()
                name = f"{case.get('classname')}::{case.get('name')}"
                bad.append(f"  {kind.upper()} {name}: {message[0][:200] if message else ''}")
    print("== verdict: {tests} tests, {failures} failed, {errors} errors, {skipped} skipped"
          .format(**counts))
    print("\n".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
