"""Time: intervals between sends, two campaigns side by side, scheduled starts,
sending windows, rests after N sends, sender rate and daily limits."""

import time
import unittest
from datetime import timedelta

from harness import E2ETest, contacts, epoch, rfc3339, utcnow, wait_until

ALL_DAYS = [0, 1, 2, 3, 4, 5, 6]


def api_weekday(dt):
    """docs/api.md numbers days 0=Sunday..6; Python's weekday() is 0=Monday."""
    return (dt.weekday() + 1) % 7


class TestSeedScenario(E2ETest):
    """Two campaigns of 5 and 7 contacts, 1 s apart each, started together: they
    run side by side, so the pair takes about 6-7 s, not 5+7 = 12 s."""

    deadline = 60.0

    def test_two_campaigns_run_side_by_side_webhook(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        a = self.campaign([s["id"]], contacts(5, start=1), name="A", interval=(1000, 1000))
        b = self.campaign([s["id"]], contacts(7, start=101), name="B", interval=(1000, 1000))
        t0 = time.time()
        ra = self.ok(self.api.post("/campaigns/%d/start" % a["id"]))
        tb = time.time()
        rb = self.ok(self.api.post("/campaigns/%d/start" % b["id"]))
        self.assertEqual((ra["status"], rb["status"]), ("running", "running"))
        wait_until(lambda: all(self.get_campaign(c["id"])["status"] == "completed" for c in (a, b)), 20,
                   "both campaigns completed", interval=0.05)
        t_end = time.time()
        for c, n, t_start in ((a, 5, t0), (b, 7, tb)):
            recs = sorted(recv.for_campaign(c["id"]), key=lambda r: r["t"])
            ts = [r["t"] for r in recs]
            self.assertEqual(len(recs), n, "campaign %s sends" % c["name"])
            self.assertLessEqual(ts[0] - t_start, 1.0, "%s: first send %.2f s after start" % (c["name"], ts[0] - t_start))
            gaps = [round(y - x, 3) for x, y in zip(ts, ts[1:])]
            self.assertTrue(all(g >= 0.9 for g in gaps), "%s: gaps below 1 s: %r" % (c["name"], gaps))
            self.assertTrue(all(g <= 2.0 for g in gaps), "%s: gaps far above 1 s: %r" % (c["name"], gaps))
            self.assert_counts_exact(c["id"])
            self.assert_events_include(c["id"], "created", "started", "completed")
        self.assertLess(t_end - t0, 9.5, "the pair took %.1f s; they should run side by side (~7 s)" % (t_end - t0))
        self.assertGreater(t_end - t0, 5.5, "7 sends 1 s apart cannot finish in %.1f s" % (t_end - t0))

    def test_first_send_does_not_wait_for_the_interval(self):
        """The interval is the gap *between* sends: with 3 s the first send is still immediate."""
        recv = self.receiver()
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(2), interval=(3000, 3000))
        t0 = time.time()
        self.ok(self.api.post("/campaigns/%d/start" % c["id"]))
        wait_until(lambda: recv.count() >= 1, 10, "first send", interval=0.01)
        self.assertLess(recv.snapshot()[0]["t"] - t0, 1.0, "the first send waited for the interval")
        wait_until(lambda: recv.count() >= 2, 10, "second send", interval=0.01)
        ts = [r["t"] for r in recv.snapshot()]
        self.assertGreaterEqual(ts[1] - ts[0], 2.9, "second send before the interval")
        self.wait_status(c["id"], "completed", 10)
        self.assert_counts_exact(c["id"])

    def test_interval_is_random_within_bounds(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(9), start=True, interval=(100, 500))
        self.wait_status(c["id"], "completed", 20)
        ts = sorted(r["t"] for r in recv.snapshot())
        gaps = [round(y - x, 3) for x, y in zip(ts, ts[1:])]
        self.assertEqual(len(gaps), 8)
        self.assertTrue(all(g >= 0.09 for g in gaps), "gap under min_ms: %r" % gaps)
        self.assertTrue(all(g <= 0.9 for g in gaps), "gap far over max_ms: %r" % gaps)
        self.assertGreater(max(gaps) - min(gaps), 0.05, "gaps do not vary: %r" % gaps)
        self.assert_counts_exact(c["id"])

    def test_two_campaigns_run_side_by_side_sandbox(self):
        a = self.campaign([1], contacts(5, start=1), name="A", interval=(1000, 1000))
        b = self.campaign([1], contacts(7, start=101), name="B", interval=(1000, 1000))
        t0 = time.time()
        self.ok(self.api.post("/campaigns/%d/start" % a["id"]))
        self.ok(self.api.post("/campaigns/%d/start" % b["id"]))
        wait_until(lambda: all(self.get_campaign(c["id"])["status"] == "completed" for c in (a, b)), 20,
                   "both campaigns completed", interval=0.05)
        t_end = time.time()
        self.assertLess(t_end - t0, 9.5, "the pair took %.1f s" % (t_end - t0))
        for c, n in ((a, 5), (b, 7)):
            c = self.assert_counts_exact(c["id"])
            self.assertEqual(c["counts"]["sent"], n, c["counts"])
            sent = sorted(epoch(m["sent_at"]) for m in self.messages(c["id"]))
            self.assertLessEqual(sent[0] - epoch(c["started_at"]), 1.0, "first send waits for the interval")
            self.assertLessEqual(sent[0] - t0, 1.5)
            gaps = [round(y - x, 3) for x, y in zip(sent, sent[1:])]
            self.assertTrue(all(0.9 <= g <= 2.0 for g in gaps), "gaps: %r" % gaps)
            self.assertIsNotNone(c["finished_at"])
            self.assertLessEqual(epoch(c["finished_at"]) - t0, 9.5)


class TestScheduling(E2ETest):
    deadline = 60.0

    def test_scheduled_start(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        start_at = rfc3339(utcnow() + timedelta(seconds=2.5))
        at = epoch(start_at)
        c = self.campaign([s["id"]], contacts(2), start=True, start_at=start_at, interval=(200, 200))
        self.assertEqual(c["status"], "scheduled", c)
        self.assertAlmostEqual(epoch(c["start_at"]), at, delta=0.001)
        self.assertIsNone(c["started_at"])
        while time.time() < at - 0.2:
            self.assertEqual(recv.count(), 0, "sent before start_at")
            self.assertEqual(self.get_campaign(c["id"])["status"], "scheduled")
            time.sleep(0.1)
        wait_until(lambda: recv.count() >= 1, 10, "first send after start_at", interval=0.01)
        first = recv.snapshot()[0]["t"]
        self.assertGreaterEqual(first, at - 0.05, "sent %.3f s before start_at" % (at - first))
        self.assertLessEqual(first - at, 0.5, "first send %.3f s after start_at" % (first - at))
        c = self.wait_status(c["id"], "completed", 15)
        self.assertGreaterEqual(epoch(c["started_at"]), at - 0.05)
        self.assert_counts_exact(c["id"])
        types = [e["type"] for e in self.assert_events_include(c["id"], "created", "scheduled", "started", "completed")]
        self.assertLess(types.index("started"), types.index("scheduled"), "events are newest first: %r" % types)

    def test_start_draft_with_future_start_at_then_cancel(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        start_at = rfc3339(utcnow() + timedelta(seconds=1.5))
        c = self.campaign([s["id"]], contacts(2), start_at=start_at)
        self.assertEqual(c["status"], "draft")
        c = self.ok(self.api.post("/campaigns/%d/start" % c["id"]))
        self.assertEqual(c["status"], "scheduled")
        c = self.ok(self.api.post("/campaigns/%d/cancel" % c["id"]))
        self.assertEqual(c["status"], "cancelled")
        time.sleep(max(0.0, epoch(start_at) - time.time()) + 1.0)
        self.assertEqual(recv.count(), 0, "a cancelled schedule fired")
        c = self.get_campaign(c["id"])
        self.assertEqual(c["status"], "cancelled")
        self.assertEqual(c["counts"]["sent"], 0)
        self.assert_counts_exact(c["id"])

    def test_start_at_in_the_past_runs_now(self):
        c = self.campaign([1], contacts(2), start=True, start_at=rfc3339(utcnow() - timedelta(minutes=5)))
        self.assertEqual(c["status"], "running", c)
        self.wait_status(c["id"], "completed", 15)
        self.assert_counts_exact(c["id"])


class TestWindows(E2ETest):
    deadline = 45.0

    def test_window_closed_now(self):
        """Open for one minute, about three hours from now: closed now."""
        recv = self.receiver()
        s = self.webhook_sender(recv)
        opens = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
        if (opens.hour, opens.minute) == (23, 59):
            opens -= timedelta(minutes=1)  # keep end > start (not overnight)
        closes = opens + timedelta(minutes=1)
        window = {"timezone": "UTC", "days": ALL_DAYS, "start": opens.strftime("%H:%M"), "end": closes.strftime("%H:%M")}
        c = self.campaign([s["id"]], contacts(3), start=True, window=window)
        cid = c["id"]
        time.sleep(0.5)
        c = self.get_campaign(cid)
        self.assertEqual(c["status"], "running", c)
        self.assertEqual(c["state_reason"], "outside_window", c)
        self.assertIsNotNone(c["next_send_at"], c)
        self.assertAlmostEqual(epoch(c["next_send_at"]), opens.timestamp(), delta=2.0,
                               msg="next_send_at %s, window opens %s" % (c["next_send_at"], rfc3339(opens)))
        self.assertEqual(c["window"], window)
        time.sleep(1.5)
        self.assertEqual(recv.count(), 0, "sent outside the window")
        c = self.get_campaign(cid)
        self.assertEqual(c["counts"]["queued"], 3, c["counts"])
        self.assertEqual(c["state_reason"], "outside_window")
        evs = self.assert_events_include(cid, "started", "waiting")
        w = [e for e in evs if e["type"] == "waiting"][0]
        self.assertEqual(w["detail"].get("reason"), "outside_window", w)
        self.assertAlmostEqual(epoch(w["detail"]["until"]), opens.timestamp(), delta=2.0)
        self.assert_counts_exact(cid)
        self.assertEqual(self.ok(self.api.post("/campaigns/%d/cancel" % cid))["status"], "cancelled")

    def _overnight(self):
        now = utcnow()
        start = now + timedelta(minutes=20)
        end = now + timedelta(minutes=10)
        if start.date() != now.date():
            self.skipTest("too close to midnight UTC to build an overnight window around now")
        return now, start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)

    def test_overnight_window_open_from_yesterday_evening(self):
        """22:00-06:00 style (end < start): a day in `days` names the evening it starts, so
        now (before `end`) belongs to yesterday's window."""
        now, start, end = self._overnight()
        yesterday = api_weekday(now - timedelta(days=1))
        window = {"timezone": "UTC", "days": [yesterday], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
        c = self.campaign([1], contacts(2), start=True, window=window)
        c = self.wait_status(c["id"], "completed", 15)
        self.assertEqual(c["counts"]["sent"], 2)
        self.assert_counts_exact(c["id"])

    def test_overnight_window_closed_until_this_evening(self):
        now, start, end = self._overnight()
        window = {"timezone": "UTC", "days": [api_weekday(now)], "start": start.strftime("%H:%M"),
                  "end": end.strftime("%H:%M")}
        c = self.campaign([1], contacts(2), start=True, window=window)
        time.sleep(0.5)
        c = self.get_campaign(c["id"])
        self.assertEqual((c["status"], c["state_reason"]), ("running", "outside_window"), c)
        self.assertAlmostEqual(epoch(c["next_send_at"]), start.timestamp(), delta=2.0,
                               msg="next_send_at %s, window opens %s" % (c["next_send_at"], rfc3339(start)))
        self.assertEqual(c["counts"]["queued"], 2)
        self.assert_counts_exact(c["id"])

    def test_window_in_other_timezone(self):
        """A window open right now in Asia/Tokyo (UTC+9, no DST) but given in Tokyo's hours."""
        now = utcnow()
        tokyo = now + timedelta(hours=9)
        start, end = tokyo - timedelta(minutes=30), tokyo + timedelta(minutes=30)
        if start.date() != end.date():
            self.skipTest("too close to midnight in Tokyo")
        window = {"timezone": "Asia/Tokyo", "days": [api_weekday(tokyo)], "start": start.strftime("%H:%M"),
                  "end": end.strftime("%H:%M")}
        c = self.campaign([1], contacts(1), start=True, window=window)
        self.wait_status(c["id"], "completed", 15)
        # the same hours read as UTC (nine hours away) are closed now
        c2 = self.campaign([1], contacts(1, start=50), start=True, window=dict(window, timezone="UTC", days=ALL_DAYS))
        time.sleep(0.5)
        c2 = self.get_campaign(c2["id"])
        self.assertEqual((c2["status"], c2["state_reason"]), ("running", "outside_window"), c2)
        self.ok(self.api.post("/campaigns/%d/cancel" % c2["id"]))


class TestLimits(E2ETest):
    deadline = 45.0

    def test_rest_after_n_sends(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(5), start=True, interval=(100, 100), pause={"after": 2, "for_ms": 1500})
        self.assertEqual(c["pause"], {"after": 2, "for_ms": 1500})
        wait_until(lambda: recv.count() >= 2, 10, "two sends")
        time.sleep(0.4)
        mid = self.get_campaign(c["id"])
        self.assertEqual(recv.count(), 2, "no third send during the rest")
        self.assertEqual((mid["status"], mid["state_reason"]), ("running", "pause_after_n"), mid)
        self.wait_status(c["id"], "completed", 20)
        ts = [r["t"] for r in sorted(recv.snapshot(), key=lambda r: r["t"])]
        gaps = [round(y - x, 3) for x, y in zip(ts, ts[1:])]
        self.assertEqual(len(ts), 5)
        self.assertGreaterEqual(gaps[1], 1.4, gaps)
        self.assertGreaterEqual(gaps[3], 1.4, gaps)
        self.assertLess(gaps[0], 1.0, gaps)
        self.assertLess(gaps[2], 1.0, gaps)
        self.assert_counts_exact(c["id"])

    def test_sender_rate_per_second(self):
        recv = self.receiver()
        s = self.ok(self.api.post("/senders", {"name": "slow", "provider": "webhook", "config": {"url": recv.url},
                                               "rate_per_second": 5}), 201)
        c = self.campaign([s["id"]], contacts(10), start=True)
        self.wait_status(c["id"], "completed", 20)
        ts = sorted(r["t"] for r in recv.snapshot())
        self.assertEqual(len(ts), 10)
        # any token bucket at 5/s with a burst of at most 5 needs >= 1 s for 10 sends
        self.assertGreaterEqual(ts[-1] - ts[0], 0.9, "10 sends at 5/s took %.2f s" % (ts[-1] - ts[0]))
        self.assert_counts_exact(c["id"])

    def test_sender_daily_limit(self):
        recv = self.receiver()
        s = self.ok(self.api.post("/senders", {"name": "daily", "provider": "webhook", "config": {"url": recv.url},
                                               "daily_limit": 3}), 201)
        c = self.campaign([s["id"]], contacts(5), start=True)
        wait_until(lambda: recv.count() >= 3, 10, "three sends")
        time.sleep(1.5)
        self.assertEqual(recv.count(), 3, "daily_limit 3 exceeded")
        c = self.get_campaign(c["id"])
        self.assertEqual((c["status"], c["state_reason"]), ("running", "sender_limit"), c)
        self.assertEqual((c["counts"]["sent"], c["counts"]["queued"]), (3, 2), c["counts"])
        self.assert_counts_exact(c["id"])
        # recipients already reached today do not count again
        reached = sorted(recv.per_phone())
        c2 = self.campaign([s["id"]], [{"phone": p, "name": "again"} for p in reached[:2]], start=True)
        self.wait_status(c2["id"], "completed", 15)
        self.assertEqual(recv.count(), 5)
        self.ok(self.api.post("/campaigns/%d/cancel" % c["id"]))
        self.assert_counts_exact(c["id"])


if __name__ == "__main__":
    unittest.main()
