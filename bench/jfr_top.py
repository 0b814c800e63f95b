"""Summarises a `jfr print --events ...` dump: the methods most often on top of the sampled stacks, and the methods
most often anywhere on them (each counted once per sample). Usage: python3 bench/jfr_top.py dump.txt"""
import collections
import re
import sys


def stacks(path):
    events, current = [], None
    for line in open(path):
        if line.startswith('jdk.'):
            if current is not None:
                events.append(current)
            current = []
        elif current is not None:
            frame = re.match(r'\s+([\w.$<>]+)\(.*line:', line)
            if frame:
                current.append(frame.group(1))
    if current:
        events.append(current)
    return events


def main():
    samples = stacks(sys.argv[1])
    top = collections.Counter(s[0] for s in samples if s)
    anywhere = collections.Counter(f for s in samples for f in set(s))
    print(f"{len(samples)} samples")
    print("on top:")
    for frame, count in top.most_common(15):
        print(f"{count:6d}  {frame}")
    print("anywhere:")
    for frame, count in anywhere.most_common(25):
        print(f"{count:6d}  {frame}")


if __name__ == '__main__':
    main()
