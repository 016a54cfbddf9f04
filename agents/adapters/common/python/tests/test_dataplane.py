"""The data plane's messages (docs/agent-protocol.md, "Message layout")."""
import struct
import unittest

from natlabagent import dataplane as dp


class DataPlaneTest(unittest.TestCase):
    def test_layout_field_by_field(self):
        d = dp.DataPlane()
        d.start(3, 100, 20000, 5000000)
        m = d.next_send(5000000)
        self.assertEqual(len(m), 100)
        self.assertEqual(m[0], 0xE1)          # magic
        self.assertEqual(m[1], 1)             # kind: data
        self.assertEqual(m[2:4], b"\0\0")     # reserved
        self.assertEqual(struct.unpack("!I", m[4:8])[0], 0)          # seq
        self.assertEqual(struct.unpack("!Q", m[8:16])[0], 5000000)   # t_us
        self.assertEqual(struct.unpack("!I", m[16:20])[0], 3)        # total
        self.assertEqual(m[20:], bytes(80))   # zero padding
        self.assertIsNone(d.next_send(5000001))  # the next one is 20 ms later
        self.assertEqual(struct.unpack("!I", d.next_send(5020000)[4:8])[0], 1)

    def test_small_size_is_padded_to_the_header(self):
        d = dp.DataPlane()
        d.start(1, 5, 1000, 0)
        self.assertEqual(len(d.next_send(0)), 20)

    def test_ack_echoes_and_duplicates_count_once(self):
        a, b = dp.DataPlane(), dp.DataPlane()
        a.start(2, 64, 1000, 0)
        m0 = a.next_send(0)
        kind, seq, ack = b.input(m0, 100)
        self.assertEqual((kind, seq), ("data", 0))
        self.assertEqual(ack, bytes([0xE1, 2]) + m0[2:20])
        kind2, _, ack2 = b.input(m0, 150)    # a duplicate: acknowledged again
        self.assertEqual((kind2, ack2), ("data", ack))
        self.assertEqual(a.input(ack, 2500), ("ack", 0, None))
        self.assertEqual(a.input(ack, 2600), ("ack", 0, None))  # duplicate ack: not counted
        m1 = a.next_send(1000)
        b.input(m1, 1100)
        self.assertIsNone(a.report_due(1000 + dp.QUIET_US - 1))
        r = a.report_due(2600 + dp.QUIET_US)
        self.assertEqual((r["sent"], r["acked"], r["lost"], r["received"]), (2, 1, 1, 0))
        self.assertEqual((r["rtt_ms_median"], r["rtt_ms_p95"]), (2.5, 2.5))
        self.assertIsNone(a.report_due(10 ** 12))  # once
        # b never sent: it has no run, so no report; a new run reports b's received
        b.start(1, 20, 1000, 10 ** 7)
        b.next_send(10 ** 7)
        self.assertEqual(b.report_due(10 ** 7 + dp.QUIET_US)["received"], 2)

    def test_not_ours(self):
        d = dp.DataPlane()
        for m in [b"", b"\xe1\x01" + bytes(10), b"\x00\x01" + bytes(18), b"\xe1\x07" + bytes(18)]:
            self.assertIsNone(d.input(m, 0))

    def test_forged_ack_is_not_counted(self):
        d = dp.DataPlane()
        d.start(1, 20, 1000, 0)
        d.next_send(0)
        forged = struct.pack("!BBHIQI", 0xE1, 2, 0, 5, 0, 1)
        d.input(forged, 10)
        self.assertEqual(d.report_due(dp.QUIET_US)["acked"], 0)

    def test_percentiles_nearest_rank(self):
        d = dp.DataPlane()
        d.start(20, 20, 0, 0)
        for i in range(20):
            m = d.next_send(0)
            d.input(bytes([0xE1, 2]) + m[2:20], (i + 1) * 1000)
        r = d.report_due(20 * 1000 + dp.QUIET_US)
        self.assertEqual((r["rtt_ms_median"], r["rtt_ms_p95"]), (10.0, 19.0))

    def test_bounds(self):
        d = dp.DataPlane()
        self.assertRaises(ValueError, d.start, 0, 100, 1, 0)
        self.assertRaises(ValueError, d.start, 1, 1401, 1, 0)
        d.start(1, 100, 1, 0)
        self.assertRaises(RuntimeError, d.start, 1, 100, 1, 0)


if __name__ == "__main__":
    unittest.main()
