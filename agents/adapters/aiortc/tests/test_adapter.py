"""natlab-aiortc's own pieces: server choice, candidate conversion, the
options it names as ignored, the timers it maps onto aioice, and the
program's start (ready, capabilities, bad argv)."""
import asyncio
import json
import os
import socket
import subprocess
import unittest

from aioice import ice as aioice_ice
from aioice import stun as aioice_stun

import aioice_agent
import serverprobe
from natlabagent import candidate as candmod
from natlabagent import options

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "..", "natlab-aiortc")


class ProbeTest(unittest.TestCase):
    def test_binding_answer_matching(self):
        req, txid = serverprobe.binding_request()
        self.assertEqual((len(req), req[:2]), (20, b"\x00\x01"))
        ok = b"\x01\x01\x00\x00" + req[4:20]
        err = b"\x01\x11\x00\x00" + req[4:20]
        self.assertTrue(serverprobe.is_stun_answer(ok, txid))
        self.assertTrue(serverprobe.is_stun_answer(err, txid))
        self.assertFalse(serverprobe.is_stun_answer(req, txid))            # a request
        self.assertFalse(serverprobe.is_stun_answer(ok[:8] + bytes(12), txid))  # another id
        self.assertFalse(serverprobe.is_stun_answer(b"\xe1" + ok[1:], txid))

    def test_first_answering_keeps_the_offered_order(self):
        o = options.parse(["--turn", "udp:10.0.0.1:3478", "--turn", "tcp:10.0.0.1:80",
                           "--turn", "tls:10.0.0.1:443"])
        res = {"udp:10.0.0.1:3478": "no answer within 1000 ms", "tcp:10.0.0.1:80": True,
               "tls:10.0.0.1:443": True}
        chosen, others = serverprobe.first_answering(o.turn, res)
        self.assertEqual(repr(chosen), "tcp:10.0.0.1:80")
        self.assertEqual([(repr(s), why) for s, why in others],
                         [("udp:10.0.0.1:3478", "no answer within 1000 ms"), ("tls:10.0.0.1:443", "not needed")])
        self.assertEqual(serverprobe.first_answering(o.turn, {})[0], None)

    def test_probe_on_loopback(self):
        """A STUN-like responder answers; a silent UDP port and a closed
        TCP port do not, within the deadline."""
        class Responder(asyncio.DatagramProtocol):
            def connection_made(self, t):
                self.t = t

            def datagram_received(self, data, addr):
                self.t.sendto(b"\x01\x01\x00\x00" + data[4:20], addr)

        async def go():
            loop = asyncio.get_running_loop()
            t, _ = await loop.create_datagram_endpoint(Responder, local_addr=("127.0.0.1", 0))
            port = t.get_extra_info("sockname")[1]
            silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            silent.bind(("127.0.0.1", 0))
            closed = socket.socket()
            closed.bind(("127.0.0.1", 0))  # bound, never listening: refused
            try:
                return await serverprobe.probe_all(
                    [("a", "udp", "127.0.0.1", port), ("b", "udp", "127.0.0.1", silent.getsockname()[1]),
                     ("c", "tcp", "127.0.0.1", closed.getsockname()[1])], 0.3, 0.05), \
                    await serverprobe.probe_all([("b", "udp", "127.0.0.1", silent.getsockname()[1])],
                                                0.1, 0.05, cap_s=0.4)
            finally:
                t.close()
                silent.close()
                closed.close()
        r, alone = asyncio.run(go())
        self.assertIs(r["a"], True)
        self.assertRegex(r["b"], r"^no answer within 3\d\d ms$")
        self.assertIn("refused", r["c"].lower())
        # nothing answered by the deadline: the probe waits on, to the cap
        self.assertRegex(alone["b"], r"^no answer within (39\d|4\d\d) ms$")

    def test_a_slow_answer_gives_the_preferred_ones_time(self):
        """The preferred server answers after 150 ms, a less preferred one
        after 100 ms, the deadline is 50 ms: the probes wait (up to 3 x
        100 ms) and the preferred one counts."""
        class Late(asyncio.DatagramProtocol):
            def __init__(self, delay):
                self.delay = delay

            def connection_made(self, t):
                self.t = t

            def datagram_received(self, data, addr):
                asyncio.get_running_loop().call_later(
                    self.delay, self.t.sendto, b"\x01\x01\x00\x00" + data[4:20], addr)

        async def go():
            loop = asyncio.get_running_loop()
            slow, _ = await loop.create_datagram_endpoint(lambda: Late(0.15), local_addr=("127.0.0.1", 0))
            fast, _ = await loop.create_datagram_endpoint(lambda: Late(0.10), local_addr=("127.0.0.1", 0))
            try:
                return await serverprobe.probe_all(
                    [("pref", "udp", "127.0.0.1", slow.get_extra_info("sockname")[1]),
                     ("other", "udp", "127.0.0.1", fast.get_extra_info("sockname")[1])], 0.05, 1.0, cap_s=2.0)
            finally:
                slow.close()
                fast.close()
        r = asyncio.run(go())
        self.assertEqual(r, {"pref": True, "other": True})


class ConversionTest(unittest.TestCase):
    def test_candidates_both_ways(self):
        line = "candidate:Di8IcB 1 udp 1694498815 203.0.113.1 40000 typ srflx raddr 10.0.1.2 rport 50000"
        aio = aioice_agent._aio_cand(candmod.parse(line))
        self.assertEqual((aio.host, aio.port, aio.type, aio.related_port), ("203.0.113.1", 40000, "srflx", 50000))
        self.assertEqual(aioice_agent._wire_cand(aio), line)


class OptionsMappingTest(unittest.TestCase):
    def test_ignored_options_are_named(self):
        o = options.parse(["--trickle", "--ta-ms", "10", "--nominate-wait-ms", "300", "--tcp",
                           "--policy", "nohost", "--dataplane", "datachannel", "--stun", "10.0.0.1:1",
                           "--stun", "10.0.0.2:2"])
        text = "; ".join(aioice_agent.ignored_options(o))
        for w in ["--trickle", "--ta-ms", "--nominate-wait-ms", "--tcp", "--policy nohost",
                  "--dataplane datachannel", "10.0.0.2:2"]:
            self.assertIn(w, text)
        self.assertEqual(aioice_agent.ignored_options(options.parse(["--role", "controlled"])), [])

    def test_timers_map_onto_aioice(self):
        saved = (aioice_stun.RETRY_RTO, aioice_stun.RETRY_MAX, aioice_ice.CONSENT_INTERVAL,
                 aioice_ice.CONSENT_FAILURES)
        said = []

        class W:
            def log(self, level, msg):
                said.append(msg)
        try:
            aioice_agent.tune_stack(options.parse(["--rto-ms", "100", "--retransmits", "3",
                                                   "--keepalive-ms", "1000", "--consent-timeout-ms", "2500"]), W())
            self.assertEqual((aioice_stun.RETRY_RTO, aioice_stun.RETRY_MAX), (0.1, 2))
            self.assertEqual((aioice_ice.CONSENT_INTERVAL, aioice_ice.CONSENT_FAILURES), (1.0, 3))
            self.assertIn("consent lost after 3 unanswered checks", said[0])
        finally:
            (aioice_stun.RETRY_RTO, aioice_stun.RETRY_MAX, aioice_ice.CONSENT_INTERVAL,
             aioice_ice.CONSENT_FAILURES) = saved


class ProgramTest(unittest.TestCase):
    def run_program(self, args, stdin):
        return subprocess.run(["/usr/bin/python3", PROGRAM] + args, input=stdin, capture_output=True,
                              text=True, timeout=60)

    def test_ready_declares_capabilities_and_stop_exits_0(self):
        p = self.run_program(["--role", "controlled", "--ta-ms", "10"], '{"cmd":"restart"}\n{"cmd":"stop"}\n')
        self.assertEqual(p.returncode, 0, p.stderr)
        evs = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual(evs[0]["ev"], "ready")
        self.assertEqual(evs[0]["impl"], "natlab-aiortc")
        self.assertEqual(evs[0]["dataplanes"], ["datagram"])
        caps = evs[0]["capabilities"]
        self.assertEqual({k: caps[k] for k in ("trickle", "restart", "ice-tcp", "turn-tls", "consent")},
                         {"trickle": False, "restart": False, "ice-tcp": False, "turn-tls": True, "consent": True})
        self.assertTrue(any(e["ev"] == "log" and "--ta-ms" in e["msg"] for e in evs))
        self.assertTrue(any(e["ev"] == "error" and "no ICE restart" in e["msg"] for e in evs))

    def test_end_of_stdin_exits_0(self):
        self.assertEqual(self.run_program([], "").returncode, 0)
        # a stdin epoll cannot watch (a person's /dev/null) ends it too
        p = subprocess.run(["/usr/bin/python3", PROGRAM], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["state"], "closed")

    def test_bad_option_exits_2_naming_it(self):
        p = self.run_program(["--turn", "udp:turn.example.org:3478"], "")
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a numeric IP address", p.stderr)
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    unittest.main()
