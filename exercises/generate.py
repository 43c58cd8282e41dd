#!/usr/bin/env python3
"""generate.py [--check] [--force] [STAGE...] - make exercises/STAGE from STAGE.

An exercise is its stage with the key functions of that stage's own
mechanism taken out. In the stage's sources, a line "/* [exercise] */" above
a function marks it. A stage carries the marks of earlier stages too (its
files are copies of theirs), but only the functions it marks *first* are its
lesson: a function marked under the same name in the stage before belongs to
that earlier chapter, and comes solved. So a learner can start at any chapter.

An emptied function keeps its comment; its body becomes a TODO that names the
function and the man pages the comment cites, and returns failure (-1 with
errno ENOSYS) until written. The stage's own tests are the checker: they pass
on the stage and fail on the untouched starter ('make test' checks both).

Exercises are generated, never edited by hand:
  --check   regenerates each exercise in a scratch directory and compares it
            with what is in the repository (git HEAD). A working copy that
            differs from HEAD is a learner's work, never a drift. It also
            checks that the stage's chapter of BOOK.md names exactly the
            functions its exercise empties.
  (none)    writes exercises/STAGE; refuses to overwrite one whose files
            differ from HEAD (a learner's work) unless --force.
Only files git tracks or would track are copied (what .gitignore ignores,
like build/ and rootfs*/, is left out), and only text files.
"""
import filecmp
import os
import re
import shutil
import subprocess
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


def git(*args):
    """Run git at the top of the kit; None if this is not a git checkout."""
    try:
        result = subprocess.run(["git", "-C", TOP, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        return None
    return result.stdout if result.returncode == 0 else None


def stage_files(stage):
    """Files of a stage, relative to it: what git tracks or would track (not what .gitignore ignores)."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", stage)
    if listed is not None:
        return sorted({os.path.relpath(p, stage) for p in listed.decode().split("\0") if p and os.path.isfile(os.path.join(TOP, p))})
    files = []
    for root, dirs, names in os.walk(os.path.join(TOP, stage)):
        dirs[:] = [d for d in dirs if not d.startswith("build") and not d.startswith("rootfs")]
        files += [os.path.relpath(os.path.join(root, n), os.path.join(TOP, stage)) for n in names if n != "box"]
    return sorted(files)


def read_text(path):
    """The file's text, or None for a binary file."""
    try:
        return open(path, encoding="utf-8").read()
    except UnicodeDecodeError:
        return None


def marked_functions(text):
    """Names of the functions marked in a source file, in order."""
    names, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        for head in lines[i + 1:]:
            if head.rstrip() == "{":
                break
            if not head.lstrip().startswith(("/*", "*")):
                match = re.search(r"(\w+)\s*\(", head)
                if match:
                    names.append(match.group(1))
                    break
    return names


def stages():
    return sorted(d for d in os.listdir(TOP) if re.fullmatch(r"step\d\d-[\w-]+", d))


def stage_marks(stage):
    """Every function a stage marks, in any of its .c files at the top."""
    names = set()
    for rel in stage_files(stage):
        if rel.endswith(".c") and os.sep not in rel:
            names.update(marked_functions(read_text(os.path.join(TOP, stage, rel)) or ""))
    return names


def own_exercises(stage):
    """The functions this stage empties: marked here, and not marked in the stage before."""
    all_stages = stages()
    index = all_stages.index(stage)
    earlier = stage_marks(all_stages[index - 1]) if index > 0 else set()
    return stage_marks(stage) - earlier


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


def strip_bodies(path, text, own):
    """Empty the marked functions named in own; keep every other function whole."""
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
        comment = "".join(l for l in head if l.lstrip().startswith(("/*", "*")))
        signature = "".join(l for l in head if not l.lstrip().startswith(("/*", "*")))
        if re.search(r"(\w+)\s*\(", signature).group(1) not in own:
            out.extend(head)  # an earlier chapter's exercise: keep it whole
            continue
        end = i
        while lines[end].rstrip("\n") != "}":
            end += 1
        out.extend(head)
        out.append(stub_body(signature, comment))
        i = end + 1
    if "<errno.h>" not in text and MARK in text:
        raise SystemExit(f"generate: {path} marks an exercise but does not include <errno.h>")
    return "".join(out)


def generate(stage, dest):
    src = os.path.join(TOP, stage)
    own = own_exercises(stage)
    shutil.rmtree(dest, ignore_errors=True)
    for rel in stage_files(stage):
        text = read_text(os.path.join(src, rel))
        if text is None:
            continue
        if rel == "Makefile":
            text = MAKEFILE_HEADER.format(stage=stage) + text
        elif rel.endswith(".c") and os.sep not in rel:
            text = strip_bodies(os.path.join(stage, rel), text, own)
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        open(os.path.join(dest, rel), "w").write(text)


def committed_copy(stage, dest):
    """Check out exercises/STAGE as git HEAD has it into dest; False if git has none."""
    listing = git("ls-tree", "-r", "-z", "--name-only", "HEAD", "--", f"exercises/{stage}")
    if not listing:
        return False
    for path in listing.decode().split("\0"):
        if not path:
            continue
        target = os.path.join(dest, os.path.relpath(path, f"exercises/{stage}"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "wb").write(git("show", f"HEAD:{path}"))
    return True


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b, ignore=["build", "build-sanitize", "box"])
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    return all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)


def chapter_names(stage):
    """Function names in `backticks` in the first paragraph of the stage's Exercises section."""
    text = open(os.path.join(TOP, "BOOK.md")).read()
    match = re.search(rf"<!-- stage: {re.escape(stage)} -->(.*?)(?=\n## |\Z)", text, re.S)
    if not match:
        return None
    section = re.search(r"### Exercises\n\n(.*?)(\n\n|\Z)", match.group(1), re.S)
    return set(re.findall(r"`(\w+)`", section.group(1))) if section else set()


def check_chapter(stage):
    """The chapter must name exactly what the exercise empties (and no other exercise function)."""
    own = own_exercises(stage)
    named = chapter_names(stage)
    if named is None:
        return []
    every_mark = set().union(*(stage_marks(s) for s in stages()))
    named &= every_mark
    problems = []
    if own - named:
        problems.append(f"BOOK.md's chapter for {stage} does not list {', '.join(sorted(own - named))} among its exercises")
    if named - own:
        problems.append(f"BOOK.md's chapter for {stage} lists {', '.join(sorted(named - own))}, which its exercise does not empty")
    return problems


def check(stage):
    """Problems with exercises/STAGE: drift from the stage, or a chapter that lists other functions."""
    target = os.path.join(TOP, "exercises", stage)
    problems = check_chapter(stage)
    with tempfile.TemporaryDirectory() as tmp:
        fresh, committed = os.path.join(tmp, "fresh"), os.path.join(tmp, "committed")
        generate(stage, fresh)
        if os.path.isdir(target) and same_tree(fresh, target):
            return problems
        if committed_copy(stage, committed) and same_tree(fresh, committed):
            print(f"exercises/{stage}: your copy differs from the starter (expected once you have worked on it)")
            return problems
    problems.append(f"exercises/{stage} is not what exercises/generate.py makes from {stage} "
                    f"(for maintainers: regenerate it and commit the result)")
    return problems


def changed_in_working_copy(stage):
    """Has someone (a learner) changed exercises/STAGE since git HEAD?"""
    status = git("status", "--porcelain", "--", f"exercises/{stage}")
    return bool(status and status.strip())


def main():
    args = sys.argv[1:]
    do_check, force = "--check" in args, "--force" in args
    chosen = [a for a in args if not a.startswith("--")] or stages()
    problems = []
    for stage in chosen:
        if do_check:
            problems += check(stage)
        elif changed_in_working_copy(stage) and not force:
            problems.append(f"exercises/{stage} has changes (your work?): not overwritten; --force to replace it")
        else:
            generate(stage, os.path.join(TOP, "exercises", stage))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
