"""The agent command line (docs/agent-protocol.md, "Starting an agent")."""
import unittest

from natlabagent import options


class OptionsTest(unittest.TestCase):
    def test_matrix_command_line(self):
        # what scenarios/matrix.lua and adapter-check give every agent
        o = options.parse(["--role", "controlled", "--trickle", "--stun", "203.0.113.10:3478",
                           "--turn", "udp:203.0.113.10:3478", "--turn", "tcp:203.0.113.10:80",
                           "--turn", "tls:203.0.113.10:443", "--turn-user", "natlab",
                           "--turn-pass", "natlab", "--gather-timeout-ms", "1000", "--ta-ms", "10",
                           "--rto-ms", "100", "--nominate-wait-ms", "300"])
        self.assertEqual(o.role, "controlled")
        self.assertTrue(o.trickle)
        self.assertEqual(o.stun, [("203.0.113.10", 3478)])
        self.assertEqual([repr(t) for t in o.turn],
                         ["udp:203.0.113.10:3478", "tcp:203.0.113.10:80", "tls:203.0.113.10:443"])
        self.assertEqual((o.gather_timeout_ms, o.ta_ms, o.rto_ms, o.nominate_wait_ms), (1000, 10, 100, 300))
        self.assertEqual(o.given[:3], ["--role", "--trickle", "--stun"])
        self.assertEqual(o.given.count("--turn"), 1)

    def test_defaults(self):
        o = options.parse([])
        self.assertEqual((o.role, o.policy, o.components, o.dataplane, o.nomination),
                         ("controlling", "all", 1, "datagram", "regular"))
        self.assertEqual(o.given, [])

    def test_every_documented_option_is_accepted(self):
        o = options.parse(["--policy", "relay", "--components", "2", "--nomination", "aggressive",
                           "--consent-timeout-ms", "3000", "--keepalive-ms", "0", "--retransmits", "3",
                           "--nominate-relay-first", "--interface", "eth0", "--interface", "lo", "--tcp",
                           "--turn-dual", "--dataplane", "datachannel", "--seed", "7", "--verbose"])
        self.assertEqual(o.interface, ["eth0", "lo"])
        self.assertEqual((o.keepalive_ms, o.retransmits, o.seed), (0, 3, 7))
        self.assertTrue(o.tcp and o.turn_dual and o.verbose and o.nominate_relay_first)

    def test_ipv6_and_inline_values(self):
        o = options.parse(["--turn=tcp:[2001:db8::1]:3478", "--stun", "[2001:db8::2]:3478"])
        self.assertEqual(o.turn[0].host, "2001:db8::1")
        self.assertEqual(repr(o.turn[0]), "tcp:[2001:db8::1]:3478")
        self.assertEqual(o.stun, [("2001:db8::2", 3478)])

    def test_bad_input_names_the_option(self):
        for argv, words in [
            (["--role", "boss"], "--role boss: want one of controlling, controlled"),
            (["--stun", "stun.example.org:3478"], "not a numeric IP address"),
            (["--stun", "10.0.0.1"], "want IP:PORT"),
            (["--turn", "dtls:10.0.0.1:3478"], "want udp|tcp|tls:IP:PORT"),
            (["--turn", "udp:10.0.0.1:0"], "the port must be 1..65535"),
            (["--rto-ms", "-5"], "--rto-ms -5: want an integer"),
            (["--components"], "--components needs a value"),
            (["--tcp=yes"], "--tcp takes no value"),
            (["--frobnicate"], "unknown option '--frobnicate'"),
            (["--turn", "udp:10.0.0.1:3478", "--turn-user", "u"], "--turn-user and --turn-pass go together"),
        ]:
            with self.assertRaises(options.UsageError, msg=argv) as cm:
                options.parse(argv)
            self.assertIn(words, str(cm.exception), argv)


if __name__ == "__main__":
    unittest.main()
