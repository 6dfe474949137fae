#!/usr/bin/env python3
"""Runs disparo's end-to-end tests (tests/e2e/test_*.py, unittest) against
$DISPARO_BIN (default build/san/disparo), one test at a time.

    python3 tests/e2e/run.py                  # everything
    python3 tests/e2e/run.py crash seed       # tests whose id contains "crash" or "seed"

Prints one line per test, the failures in full, then exactly one summary line
`e2e: N passed, N failed[, N skipped]`; exits 1 on any failure."""

import os
import sys
import threading
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

SUITE_DEADLINE = float(os.environ.get("DISPARO_E2E_DEADLINE", "540"))


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


class Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.passed = 0
        self.t0 = 0.0
        self.current = None

    def startTest(self, test):
        super().startTest(test)
        self.current = test
        self.printed = False
        self.t0 = time.monotonic()
        sys.stdout.write("  %s ... " % short(test))
        sys.stdout.flush()

    def _line(self, word, extra=""):
        self.printed = True
        sys.stdout.write("%s (%.1fs)%s\n" % (word, time.monotonic() - self.t0, extra))
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self._line("ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line("FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._line("ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line("skipped", ": " + reason)

    def stopTest(self, test):
        if not self.printed:  # failed subtests only
            self._line("FAIL")
        super().stopTest(test)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1
        self._line("ok (expected failure)")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line("FAIL (unexpected success)")

    def n_failed(self):
        # a test with several failing subtests counts once
        ids = {t.id().split(" ")[0] for t, _ in self.failures + self.errors}
        ids |= {t.id() for t in self.unexpectedSuccesses}
        return len(ids)


def short(test):
    tid = test.id()
    return tid[len("test_"):] if tid.startswith("test_") else tid


def summary(res, extra_failed=0):
    line = "e2e: %d passed, %d failed" % (res.passed, res.n_failed() + extra_failed)
    if res.skipped:
        line += ", %d skipped" % len(res.skipped)
    return line


def main(argv):
    filters = [a for a in argv[1:] if not a.startswith("-")]
    binp = harness.disparo_bin()
    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = list(flatten(suite))
    broken = [t for t in tests if t.__class__.__name__ == "_FailedTest"]
    if filters:
        tests = [t for t in tests if any(f in t.id() for f in filters)] + \
                [t for t in broken if t not in tests]
        if not [t for t in tests if t not in broken]:
            print("# no test id contains any of %s" % filters)
            print("e2e: 0 passed, 1 failed")
            return 1
    print("# %d tests, binary %s" % (len(tests), binp))
    res = Result()
    if not os.access(binp, os.X_OK):
        print("# DISPARO_BIN %s is not an executable file (run `make build/san/disparo`)" % binp)
        print("e2e: 0 passed, %d failed" % len(tests))
        return 1

    def suite_deadline():
        sys.stdout.write("\n!! e2e: suite deadline of %.0f s passed; killing servers. Main thread was at:\n"
                         % SUITE_DEADLINE)
        frame = sys._current_frames().get(threading.main_thread().ident)
        if frame is not None:
            sys.stdout.write("".join(traceback.format_stack(frame)))
        harness.kill_all_servers()
        sys.stdout.write(summary(res, extra_failed=1) + "\n")
        sys.stdout.flush()
        os._exit(1)

    watchdog = threading.Timer(SUITE_DEADLINE, suite_deadline)
    watchdog.daemon = True
    watchdog.start()
    t0 = time.monotonic()
    try:
        for t in tests:
            t(res)
    except KeyboardInterrupt:
        harness.kill_all_servers()
        print("\ninterrupted")
    finally:
        watchdog.cancel()
        harness.kill_all_servers()

    for kind, items in (("FAIL", res.failures), ("ERROR", res.errors)):
        for test, tb in items:
            print("=" * 70)
            print("%s: %s" % (kind, test.id()))
            print("-" * 70)
            print(tb.rstrip())
    if res.failures or res.errors:
        print("=" * 70)
    print("# took %.1f s" % (time.monotonic() - t0))
    print(summary(res))
    return 1 if (res.n_failed() or res.unexpectedSuccesses) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
