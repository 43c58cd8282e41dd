#!/usr/bin/env python3
"""mutate.py STAGE [N...] - break each key line of a stage once and check that a test fails.

A test that cannot fail checks nothing. STAGE/tests/mutations lists, one per
line, a key line of the stage's mechanism, how to break it, and the test that
must then fail:

    FILE @@ TEXT @@ REPLACEMENT @@ TEST [@@ vm]

TEXT must occur exactly once in FILE; it is replaced by REPLACEMENT, the
stage is rebuilt, and `make test TEST=TEST` must fail (with "vm": the test
runs in the pure cgroup v2 VM instead, for code only v2 hosts run). The
file is restored afterwards, whatever happens. Lines starting with # are
comments; a field may be empty. Prints one line per mutation and exits non-zero if any mutation
survived (no test failed). A run killed outright leaves STAGE/.mutated, and
the next run restores the file it names first.

    testkit/mutate.py step03-cgroups        every mutation of the stage
    testkit/mutate.py step03-cgroups 4 7    only the 4th and 7th
"""
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mutations(stage):
    entries = []
    for line in open(os.path.join(TOP, stage, "tests", "mutations")):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in re.split(r" ?@@ ?", line.rstrip("\n"))]
        if len(fields) not in (4, 5):
            raise SystemExit(f"mutate: bad line in {stage}/tests/mutations: {line.strip()}")
        entries.append(fields)
    return entries


def run_test(stage, test, vm):
    """True if the named test fails on the mutated stage."""
    env = dict(os.environ, TEST=test)
    if vm:
        make = subprocess.run(["make", "-C", stage, "-s", "all"], cwd=TOP, capture_output=True)
        if make.returncode != 0:
            return False, "does not build"
        result = subprocess.run([os.path.join(TOP, "testkit", "cgroup2-vm"), stage, "test_cgroup"],
                                cwd=TOP, env=env, capture_output=True, text=True)
    else:
        result = subprocess.run(["make", "-C", stage, "-s", "test"], cwd=TOP, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if "error:" in output and "[==========]" not in output:
        return False, "does not build"
    ran = "[ RUN      ] " + test in output
    return result.returncode != 0 and ran, "caught" if ran else "test did not run"


def restore_interrupted(stage):
    """A run killed outright (SIGKILL, a machine that stops) cannot restore in
    its finally: it leaves STAGE/.mutated naming the file, with the original
    beside it. Put the original back before anything else."""
    marker = os.path.join(TOP, stage, ".mutated")
    if not os.path.exists(marker):
        return
    path = open(marker).read().strip()
    saved = marker + ".orig"
    if path and os.path.exists(saved):
        os.replace(saved, os.path.join(TOP, stage, path))
        print(f"mutate: {stage}/{path} was left mutated by an interrupted run: restored", flush=True)
    os.remove(marker)


def mutate_file(stage, path, original, mutated):
    """Save the original and note which file is mutated, then write the mutation."""
    marker = os.path.join(TOP, stage, ".mutated")
    open(marker + ".orig", "w").write(original)
    open(marker, "w").write(path + "\n")
    open(os.path.join(TOP, stage, path), "w").write(mutated)


def restore_file(stage, path, original):
    marker = os.path.join(TOP, stage, ".mutated")
    open(os.path.join(TOP, stage, path), "w").write(original)
    os.remove(marker + ".orig")
    os.remove(marker)


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: mutate.py STAGE [N...]")
    stage, chosen = sys.argv[1], {int(n) for n in sys.argv[2:]}
    restore_interrupted(stage)
    survived = 0
    for n, fields in enumerate(mutations(stage), 1):
        if chosen and n not in chosen:
            continue
        path, text, replacement, test = fields[:4]
        vm = len(fields) == 5 and fields[4] == "vm"
        full = os.path.join(TOP, stage, path)
        original = open(full).read()
        if original.count(text) != 1:
            print(f"{n:3} {path}: text occurs {original.count(text)} times, not once: {text}")
            survived += 1
            continue
        try:
            mutate_file(stage, path, original, original.replace(text, replacement))
            failed, how = run_test(stage, test, vm)
        finally:
            restore_file(stage, path, original)
        status = "ok  " if failed else "SURVIVED"
        survived += not failed
        print(f"{n:3} {status} {path}: {text}  ->  {test} ({how})", flush=True)
    subprocess.run(["make", "-C", stage, "-s", "all"], cwd=TOP, capture_output=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
