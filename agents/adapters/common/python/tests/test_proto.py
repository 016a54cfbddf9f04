"""Commands in, events out (docs/agent-protocol.md)."""
import asyncio
import io
import json
import unittest

from natlabagent import proto


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class WriterTest(unittest.TestCase):
    def test_events_are_lines_with_monotonic_t_ms(self):
        out, clock = io.StringIO(), FakeClock()
        w = proto.EventWriter(out, clock)
        w.emit("ready", impl="x", version="1")
        clock.t += 1.2345
        w.log("warning", "two\nlines")
        lines = out.getvalue().split("\n")
        self.assertEqual(lines[-1], "")
        a, b = json.loads(lines[0]), json.loads(lines[1])
        self.assertEqual(a, {"ev": "ready", "t_ms": 0, "impl": "x", "version": "1"})
        self.assertEqual((b["ev"], b["t_ms"], b["msg"]), ("log", 1234, "two\nlines"))


class ParseTest(unittest.TestCase):
    def test_remote(self):
        c = proto.parse_command(json.dumps({
            "cmd": "remote", "ufrag": "abcd", "pwd": "p" * 22, "session": {"setup": "actpass"},
            "candidates": ["candidate:1 1 udp 2130706431 10.0.1.2 50000 typ host",
                           "candidate:2 1 udp 2130706431 x.local 50000 typ host"]}))
        self.assertEqual(len(c["candidates"]), 1)
        self.assertEqual(c["skipped"][0][1], "address 'x.local' is not numeric (an FQDN or mDNS name)")
        self.assertEqual(c["session"], {"setup": "actpass"})

    def test_send_defaults(self):
        c = proto.parse_command('{"cmd":"send","n":5}')
        self.assertEqual((c["n"], c["size"], c["interval_ms"]), (5, 100, 20))

    def test_errors_name_the_problem(self):
        for line, words in [
            ("not json", "bad JSON"),
            ("[1]", "a command must be a JSON object"),
            ('{"cmd":7}', '"cmd" is missing or not a string'),
            ('{"cmd":"dance"}', 'unknown command "dance"'),
            ('{"cmd":"remote","pwd":"x"}', '"ufrag" must be a string'),
            ('{"cmd":"remote","ufrag":"u","pwd":"p","candidates":"c"}', '"candidates" must be an array'),
            ('{"cmd":"remote","ufrag":"u","pwd":"p","session":[]}', '"session" must be an object'),
            ('{"cmd":"candidate","candidate":"candidate:1 1 udp x 1.2.3.4 5 typ host"}', "bad candidate"),
            ('{"cmd":"candidate","candidate":3}', "candidates must be a=candidate strings"),
            ('{"cmd":"send"}', '"n" is missing'),
            ('{"cmd":"send","n":0}', '"n" must be within 1..1000000'),
            ('{"cmd":"send","n":1,"size":1401}', '"size" must be within 0..1400'),
            ('{"cmd":"send","n":true}', '"n" must be an integer'),
        ]:
            with self.assertRaises(proto.ProtocolError, msg=line) as cm:
                proto.parse_command(line)
            self.assertIn(words, str(cm.exception), line)


class ReaderTest(unittest.TestCase):
    def test_bad_lines_become_errors_and_eof_ends(self):
        async def go():
            reader = asyncio.StreamReader()
            reader.feed_data(b'{"cmd":"gather"}\nnonsense\n\n{"cmd":"candidate","candidate":'
                             b'"candidate:1 1 udp 1 a.local 5 typ host"}\n{"cmd":"end-of-candidates"}\n')
            reader.feed_eof()
            out = io.StringIO()
            seen = []

            async def handle(cmd):
                seen.append(cmd["cmd"])
            await proto.read_commands(reader, proto.EventWriter(out), handle)
            return seen, [json.loads(x) for x in out.getvalue().splitlines()]
        seen, events = asyncio.run(go())
        self.assertEqual(seen, ["gather", "candidate", "end-of-candidates"])
        self.assertEqual([e["ev"] for e in events], ["error", "log"])
        self.assertIn("skipped remote candidate", events[1]["msg"])

    def test_stop_ends_the_reader(self):
        async def go():
            reader = asyncio.StreamReader()
            reader.feed_data(b'{"cmd":"stop"}\n{"cmd":"gather"}\n')
            seen = []

            async def handle(cmd):
                seen.append(cmd["cmd"])
                return cmd["cmd"] != "stop"
            await proto.read_commands(reader, proto.EventWriter(io.StringIO()), handle)
            return seen
        self.assertEqual(asyncio.run(go()), ["stop"])


class RunnerTest(unittest.TestCase):
    def test_two_runners_exchange_and_report(self):
        """Two agents' runners wired back to back: rx for each message,
        then one data event each after the quiet second."""
        async def go():
            outs = [io.StringIO(), io.StringIO()]
            ws = [proto.EventWriter(o) for o in outs]
            rs = []
            rs.append(proto.DataPlaneRunner(ws[0], lambda m: rs[1].received(m)))
            rs.append(proto.DataPlaneRunner(ws[1], lambda m: rs[0].received(m)))
            rs[0].start(3, 50, 5)
            rs[1].start(2, 50, 5)
            await asyncio.wait_for(asyncio.gather(rs[0].task, rs[1].task), 5)
            return [[json.loads(x) for x in o.getvalue().splitlines()] for o in outs]
        evs = asyncio.run(go())
        data0 = [e for e in evs[0] if e["ev"] == "data"]
        data1 = [e for e in evs[1] if e["ev"] == "data"]
        self.assertEqual(len(data0), 1)
        self.assertEqual((data0[0]["sent"], data0[0]["acked"], data0[0]["lost"], data0[0]["received"]),
                         (3, 3, 0, 2))
        self.assertEqual((data1[0]["sent"], data1[0]["acked"], data1[0]["received"]), (2, 2, 3))
        self.assertEqual(sorted(e["seq"] for e in evs[1] if e["ev"] == "rx"), [0, 1, 2])
        self.assertIsInstance(data0[0]["rtt_ms_median"], float)
        self.assertGreaterEqual(data0[0]["t_ms"], 1000)  # after the quiet second


if __name__ == "__main__":
    unittest.main()
