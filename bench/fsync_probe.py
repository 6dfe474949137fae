"""Prints the cost of one fsync in the temp dir (a lower bound for every durable commit)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fsync_probe, result  # noqa: E402

p50, p99 = fsync_probe()
result("fsync of 4 KiB, p50/p99", "%.3f/%.3f" % (p50, p99), "ms", "-", None,
       "temp dir's disk; every commit pays at least this")
