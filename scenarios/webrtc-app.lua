-- webrtc-app.lua - a WebRTC call between two real browsers where the
-- network decides everything: one caller in an office whose firewall lets
-- only web traffic out (tcp-web-only: TCP to 80 and 443, no UDP at all),
-- the other on a mobile network behind a symmetric NAT. The application
-- offers what a WebRTC service typically deploys: TURN over UDP on 3478
-- and TURN over TLS on 443 (turns:), no plain TURN/TCP. No direct path can
-- exist (no UDP on one side, a new port per destination on the other), so
-- the call connects only if the office browser reaches its TURN server
-- over TLS on 443; the mobile side relays over UDP or reaches that relay
-- directly.
--
-- The cell passes when both browsers select a pair, data flows both ways
-- over a WebRTC data channel (the `datachannel` plane), the wire sees a
-- relayed path (class relay-tcp), and the office browser's selected local
-- candidate is a relay it reaches over TLS (relay_transport "tls") on the
-- TURN server's port 443. The record says so in `story` (and the
-- observations `office_relay`, `office_turn_port`, `mobile_path`).
--
--   natlab run webrtc-app                          # chromium x chromium
--   natlab run webrtc-app -p office_impl=firefox -p mobile_impl=chromium
--   natlab run webrtc-app -p office_impl=chromium,firefox -p mobile_impl=chromium,firefox
--
-- Any agent with the datachannel plane can play either part (natlab-ice
-- with -p args=--dataplane,datachannel is the lab's reference peer).
natlab.scen.use_dir()
local S = natlab.scen

scenario {
  name = "webrtc-app",
  description = "two browsers, one behind a web-only firewall, one behind a symmetric NAT: the call goes through TURN over TLS on 443",
  params = {
    office_impl = { description = "the browser behind the tcp-web-only firewall (chromium, firefox or any agent)", default = "chromium" },
    mobile_impl = { description = "the browser behind the symmetric NAT", default = "chromium" },
    timeout_ms = { description = "time allowed to select a pair", default = 20000 },
    trickle = { description = "trickle candidates (RFC 8838)", default = true },
    wire = { description = "judge the path on the wire (false: the agents' claims only)", default = true },
  },
  matrix = {},
  expect = function() return "relay-tcp" end,
  -- two browsers may take up to a minute to start on a loaded host
  timeout_ms = 150000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    S.side(net, "office", "tcp-web-only")
    S.side(net, "mobile", "symmetric")
    net.srv = S.servers(net, { servers = "natlab" })
    if not net.srv.tls then natlab.skip("scenarios/certs/turn-cert.pem not found: no TURN over TLS to offer") end
    net.wire = S.watch(net, { "office", "mobile" }, p)
    return net
  end,

  run = function(net, p, cell)
    -- what the application configures: turn:…:3478 (UDP) and turns:…:443
    local turn = S.turn_urls(net, { "udp", "tls" }, true)
    local args = { "--dataplane", "datachannel" }
    local o = S.agent(net, "office", p.office_impl, { role = "controlling", name = "office", trickle = p.trickle,
                                                      turn = turn, args = args, gather_timeout_ms = 2000 }, cell)
    local m = S.agent(net, "mobile", p.mobile_impl, { role = "controlled", name = "mobile", trickle = p.trickle,
                                                      turn = turn, args = args, gather_timeout_ms = 2000 }, cell)
    for _, x in ipairs({ { "office", o, p.office_impl }, { "mobile", m, p.mobile_impl } }) do
      local ok, why = natlab.ready(x[2])
      if not ok then natlab.fail(x[1] .. " (" .. tostring(x[3]) .. "): " .. why) end
    end
    local res = natlab.ice_connect(o, m, { trickle = p.trickle, timeout_ms = p.timeout_ms,
                                           names = { "office", "mobile" }, record = false })
    if not res.ok then
      S.record_class(res, cell, { names = { "office", "mobile" } })
      natlab.result { story = "the call did not connect: " .. tostring(res.reason) }
      S.stop({ o, m })
      return
    end
    local flow = S.data_phase(net, o, m, res, cell, { names = { "office", "mobile" } })
    natlab.result { data = { sent = flow.n, received = flow.a_rx, peer_received = flow.b_rx } }
    local sel = res.selected.office or {}
    local loc = sel["local"] or {}
    local ms = res.selected.mobile or {}
    local relay_tls = loc.type == "relay" and loc.relay_transport == "tls"
    natlab.observe("office_relay", loc.type == "relay" and ("relay over " .. tostring(loc.relay_transport)) or tostring(loc.type))
    natlab.observe("office_turn_port", relay_tls and 443 or nil)
    natlab.observe("mobile_path", ms["local"] and ms["local"].type or "?")
    local story
    if relay_tls and flow.ok then
      story = string.format("connected through TURN over TLS on %s:443 in %d ms (office: relay over TLS; mobile: %s); " ..
                            "data both ways over the data channel (%d/%d and %d/%d messages)",
                            net.addr.turn, res.connect_ms or -1, tostring(ms["local"] and ms["local"].type),
                            flow.a_rx, flow.n, flow.b_rx, flow.n)
    else
      story = string.format("did not connect the way a web-only office must: office selected %s (%s)%s",
                            tostring(loc.type), tostring(loc.relay_transport),
                            flow.ok and "" or ", and data did not flow both ways")
      natlab.result { outcome = "fail", message = story }
    end
    natlab.result { story = story }
    natlab.log(story)
    S.stop({ o, m })
  end,
}
