#!/usr/bin/env python3
"""bookcheck.py BOOK.md STAGE - run a chapter's examples and compare their output.

The chapter is the one whose heading is followed by "<!-- stage: STAGE -->".
Its ```console blocks are run in order, in one bash process started at the
top of the repository, so "cd" and variables carry from block to block.
In a block, a line starting with "$ " is a command; the lines after it, up
to the next command, are the output expected from it (stdout and stderr).

Placeholders, for what varies from run to run:
  ...        on a line of its own: any number of lines (also none)
  ...        inside a line: any text
"""
import os
import re
import subprocess
import sys

MARK = "@@bookcheck-command@@"


def chapter_blocks(text, stage):
    """Return the console blocks of the chapter that belongs to stage."""
    blocks, inside, block, in_chapter = [], False, [], False
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## "):
            in_chapter = i + 1 < len(lines) and lines[i + 1].strip() == f"<!-- stage: {stage} -->"
        elif in_chapter and line.strip() == "```console":
            inside, block = True, []
        elif inside and line.strip() == "```":
            inside = False
            blocks.append(block)
        elif inside:
            block.append(line)
    return blocks


def commands(blocks):
    """Split blocks into (command, expected output lines) pairs."""
    pairs = []
    for block in blocks:
        for line in block:
            if line.startswith("$ "):
                pairs.append((line[2:], []))
            elif pairs:
                pairs[-1][1].append(line)
            else:
                raise SystemExit(f"bookcheck: output before any command: {line!r}")
    return pairs


def line_matches(expected, actual):
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def lines_match(expected, actual):
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(lines_match(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and line_matches(expected[0], actual[0]) and lines_match(expected[1:], actual[1:])


def code_walk_names(text, stage):
    """Identifiers in `backticks` in the chapter's "### The code" section."""
    match = re.search(rf"<!-- stage: {re.escape(stage)} -->(.*?)(?=\n## |\Z)", text, re.S)
    if not match:
        return set()
    section = re.search(r"### The code\n(.*?)(?=\n### |\Z)", match.group(1), re.S)
    if not section:
        return set()
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", section.group(1)))


def missing_names(text, stage, top):
    """Names the code walk mentions that no source file of the stage contains:
    a function renamed or removed since the chapter was written."""
    sources = ""
    stage_dir = os.path.join(top, stage)
    for name in os.listdir(stage_dir):
        if name.endswith((".c", ".h")) or name == "Makefile":
            sources += open(os.path.join(stage_dir, name)).read()
    return sorted(n for n in code_walk_names(text, stage) if not re.search(rf"\b{re.escape(n)}\b", sources))


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: bookcheck.py BOOK.md STAGE")
    book, stage = sys.argv[1:]
    top = os.path.dirname(os.path.abspath(book))
    missing = missing_names(open(book).read(), stage, top)
    if missing:
        print(f"bookcheck: {stage}: the code walk names what the stage's code does not have: {', '.join(missing)}")
        return 1
    pairs = commands(chapter_blocks(open(book).read(), stage))
    if not pairs:
        raise SystemExit(f"bookcheck: no examples found for {stage}")
    # Keep $? across the marker line, so "$ echo $?" shows the previous command's status.
    marker = f"status=$?; echo {MARK}; (exit $status)\n"
    script = "exec 2>&1\n" + "".join(f"{marker}{cmd}\n" for cmd, _ in pairs)
    result = subprocess.run(["bash", "-c", script], cwd=top, stdout=subprocess.PIPE, text=True, timeout=600)
    outputs = result.stdout.split(MARK + "\n")[1:]
    failed = 0
    for (cmd, expected), actual in zip(pairs, outputs + [""] * (len(pairs) - len(outputs))):
        actual_lines = actual.splitlines()
        if not lines_match(expected, actual_lines):
            failed += 1
            print(f"bookcheck: {stage}: output of '$ {cmd}' differs from the book")
            print("  expected:\n" + "".join(f"    {l}\n" for l in expected), end="")
            print("  got:\n" + "".join(f"    {l}\n" for l in actual_lines), end="")
    print(f"book {stage}: {len(pairs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
