"""a=candidate values (RFC 8839 §5.1), as agents/ice/candidate.c reads them."""
import unittest

from natlabagent import candidate as cand


class CandidateTest(unittest.TestCase):
    def test_host_srflx_relay_round_trip(self):
        for line in ["candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host",
                     "candidate:Di8IcB 1 udp 1694498815 203.0.113.1 40000 typ srflx raddr 10.0.1.2 rport 50000",
                     "candidate:r1 2 udp 16777215 203.0.113.10 49152 typ relay raddr 203.0.113.1 rport 1",
                     "candidate:t 1 tcp 1788870655 10.0.2.2 46097 typ host tcptype passive",
                     "candidate:6 1 udp 2130706431 2001:db8::1 5000 typ host"]:
            self.assertEqual(cand.format_line(cand.parse(line)), line)

    def test_prefix_crlf_and_unknown_extensions(self):
        c = cand.parse("a=candidate:1 1 UDP 2130706431 10.0.1.2 50000 typ host generation 0 network-id 1\r\n")
        self.assertEqual((c.transport, c.address, c.port, c.type), ("udp", "10.0.1.2", 50000, "host"))

    def test_syntax_errors(self):
        for line in ["", "candidate:1 1 udp 1 10.0.0.1 7 typ", "foo:1 1 udp 1 10.0.0.1 7 typ host",
                     "candidate:1 1 udp notanumber 10.0.0.1 7 typ host",
                     "candidate:1 0 udp 1 10.0.0.1 7 typ host",
                     "candidate:1 1 udp 1 10.0.0.1 70000 typ host",
                     "candidate:1 1 udp 1 10.0.0.1 7 type host",
                     "candidate:1 1 udp 1 10.0.0.1 7 typ nat",
                     "candidate:1  1 udp 1 10.0.0.1 7 typ host",
                     "candidate:1 1 udp 1 10.0.0.1 7 typ host ",
                     "candidate:1 1 udp 1 10.0.0.1 7 typ host lonely",
                     "candidate:1 1 udp 1 10.0.0.1 7 typ host tcptype sideways",
                     "candidate:a_b 1 udp 1 10.0.0.1 7 typ host",
                     "candidate:" + "f" * 33 + " 1 udp 1 10.0.0.1 7 typ host",
                     "candidate:1 1 udp 1 10.0.0.1: 7 typ host"]:
            with self.assertRaises(cand.CandidateSyntaxError, msg=line):
                cand.parse(line)

    def test_unusable_but_valid(self):
        for line in ["candidate:1 1 udp 2130706431 3f1b7b8e-9c.local 50000 typ host",
                     "candidate:1 1 udp 2130706431 turn.example.org 50000 typ relay",
                     "candidate:1 1 sctp 2130706431 10.0.0.1 50000 typ host"]:
            with self.assertRaises(cand.CandidateUnusable, msg=line):
                cand.parse(line)


if __name__ == "__main__":
    unittest.main()
