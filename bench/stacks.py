"""Summarize a py-spy raw profile (bench/latency.py --profile DIR): where the samples under
one frame go.

    .venv/bin/python -m bench.stacks DIR/0ms-detail-api.txt "detail (multisite/api" [DEPTH]

Prints the samples under the first frame whose text contains ANCHOR, grouped by the DEPTH
frames below it, then by (the last multisite frame | the leaf frame): with py-spy's --idle,
a leaf such as Condition.wait or TCPTransport._read is time spent waiting, not computing.
"""

import collections
import re
import sys


def _short(frame):
    return re.sub(r" \(.*?([^/]+/[^/]+\.py):\d+\)", r" (\1)", frame)


def summarize(lines, anchor, depth=1):
    """(samples under anchor, Counter by the next frames, Counter by last ours | leaf)."""
    under, below, leaves = 0, collections.Counter(), collections.Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        at = next((i for i, f in enumerate(frames) if anchor in f), None)
        if at is None:
            continue
        n = int(count)
        under += n
        rest = frames[at + 1:]
        below[" > ".join(_short(f) for f in rest[:depth]) or "(self)"] += n
        ours = [f for f in rest if "multisite/" in f]
        leaves[f"{_short(ours[-1]) if ours else '-'} | "
               f"{_short(rest[-1]) if rest else '-'}"] += n
    return under, below, leaves


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path, anchor = argv[0], argv[1]
    depth = int(argv[2]) if len(argv) > 2 else 1
    with open(path) as f:
        under, below, leaves = summarize(f, anchor, depth)
    print(f"{under} samples under {anchor!r}")
    for name, n in below.most_common(15):
        print(f"{n:6d} {100 * n / max(under, 1):5.1f}%  {name}")
    print("-- by the last multisite frame | the leaf")
    for name, n in leaves.most_common(20):
        print(f"{n:6d} {100 * n / max(under, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
