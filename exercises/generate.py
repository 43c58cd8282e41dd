#!/usr/bin/env python3
"""generate.py [--check] [STAGE...] - make exercises/STAGE from STAGE.

An exercise is its stage with the key function bodies taken out. In the
stage's sources, a line "/* [exercise] */" above a function marks it; here
its body becomes a TODO that names the function and the man pages its
comment cites, and returns failure (-1 with errno ENOSYS) until written.
The stage's own tests are the checker: they pass on the stage and fail on
the untouched starter ('make test' checks both).

Exercises are generated, never edited by hand, so they cannot drift from
their stage: --check regenerates them in a scratch directory and fails if
that differs from what is committed.
"""
import filecmp
import os
import re
import shutil
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "/* [exercise] */"
MAKEFILE_HEADER = """\
# Exercise starter, generated from ../../{stage} by exercises/generate.py.
# Some function bodies are missing; 'make check' runs the stage's tests.
# Until you write them, their parameters and helpers go unused: allow that.
EXTRA_CFLAGS = -Wno-unused-parameter -Wno-unused-function -Wno-unused-variable -Wno-unused-const-variable
TESTKIT = ../../testkit

"""


def stub_body(signature, comment):
    name = re.search(r"(\w+)\s*\(", signature).group(1)
    pages = sorted(set(re.findall(r"\b[\w.]+\([1-8]\)", comment)))
    todo = f"\t/* TODO: write {name}(), as the comment above says"
    todo += f"; read {', '.join(pages)}. */\n" if pages else ". */\n"
    returns = signature.split(name)[0]
    if re.search(r"\bvoid\s*$", returns):
        return "{\n" + todo + "}\n"
    if "*" in returns:
        return "{\n" + todo + "\terrno = ENOSYS;\n\treturn NULL;\n}\n"
    return "{\n" + todo + "\terrno = ENOSYS;\n\treturn -1;\n}\n"


def strip_bodies(path, text):
    lines = text.splitlines(keepends=True)
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        if lines[i].strip() != MARK:
            i += 1
            continue
        i += 1
        head = []
        while lines[i].rstrip("\n") != "{":
            head.append(lines[i])
            i += 1
        end = i
        while lines[end].rstrip("\n") != "}":
            end += 1
        comment = "".join(l for l in head if l.lstrip().startswith(("/*", "*")))
        signature = "".join(l for l in head if not l.lstrip().startswith(("/*", "*")))
        out.extend(head)
        out.append(stub_body(signature, comment))
        i = end + 1
    if "<errno.h>" not in text and MARK in text:
        raise SystemExit(f"generate: {path} marks an exercise but does not include <errno.h>")
    return "".join(out)


def generate(stage, dest):
    src = os.path.join(TOP, stage)
    shutil.rmtree(dest, ignore_errors=True)
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if not d.startswith("build") and d != "rootfs"]
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for f in files:
            if rel == "." and f == "box":
                continue
            text = open(os.path.join(root, f)).read()
            if f == "Makefile" and rel == ".":
                text = MAKEFILE_HEADER.format(stage=stage) + text
            elif f.endswith(".c") and rel == ".":
                text = strip_bodies(os.path.join(stage, f), text)
            open(os.path.join(dest, rel, f), "w").write(text)


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b, ignore=["build", "build-sanitize", "box"])
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    return all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)


def main():
    args = sys.argv[1:]
    check = "--check" in args
    stages = [a for a in args if a != "--check"] or sorted(
        d for d in os.listdir(TOP) if re.fullmatch(r"step\d\d-[\w-]+", d))
    stale = []
    for stage in stages:
        target = os.path.join(TOP, "exercises", stage)
        if check:
            with tempfile.TemporaryDirectory() as tmp:
                generate(stage, os.path.join(tmp, stage))
                if not os.path.isdir(target) or not same_tree(os.path.join(tmp, stage), target):
                    stale.append(stage)
        else:
            generate(stage, target)
    if stale:
        print("exercises out of date (run exercises/generate.py): " + " ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
