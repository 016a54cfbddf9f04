-- The expected outcome of every cell of scenarios/sip.lua: what the wire
-- must show when "left" (behind p.left) calls "right" (behind p.right)
-- through a registrar/proxy on the internet, for each NAT help, SIP ALG
-- setting and signalling transport. docs/sip.md derives each rule.
--
--   no-reg            the callee's registration never reached the registrar
--   no-call           no 200 to the caller's INVITE (it never reached the callee)
--   no-audio          the call is up, RTP reached neither UA
--   one-way:X->Y      only X's RTP reached Y
--   two-way           RTP reached both UAs
--
-- The NAT behaviours that matter here (docs/nat-model.md):
local FILTER = { ["full-cone"] = "ei", ["restricted-cone"] = "ad", ["port-restricted-cone"] = "apd",
                 easy = "apd", ["address-dependent"] = "ad", symmetric = "apd", hard = "apd",
                 cgnat = "apd", ["udp-blocked"] = "apd", ["tcp-web-only"] = "apd" }
-- endpoint-independent mapping that keeps the internal port: the public
-- endpoint the ALG writes into the SDP (the internal port on the public
-- address) is the one the UA's media really leaves from
local EIM_PRESERVE = { ["full-cone"] = true, ["restricted-cone"] = true,
                       ["port-restricted-cone"] = true, easy = true }

local function open(x) return x == "open" end
local function no_udp(x) return x == "udp-blocked" or x == "tcp-web-only" end
-- SIP to 5060: a web-only firewall lets TCP out to 80/443 only
-- (and SIP over TLS to 5061); TCP or TLS pass a UDP-blocked one
local function sip_out(x, transport)
  if x == "tcp-web-only" then return false end
  return transport ~= "udp" or x ~= "udp-blocked"
end
-- Whether an ALG put x's public address into its Contact and SDP. It sits
-- on the NAT next to the UA. A cgnat side (a home NAT behind a carrier
-- NAT) has it where alg_cgn says: on the carrier alone (the default, what
-- scen.side does with knobs) it sees the home NAT's already-translated
-- packets and a 10.x Contact and SDP it does not own, and rewrites
-- nothing; on the home NAT alone it writes the home NAT's outside address,
-- on the carrier's inside network (10.j.0.2 in the lab, no route on the
-- internet), which helps nothing; on both, the carrier's rewrites the
-- home's rewrite, whose address now is the packets' own, to its public
-- one - the address is
-- right, the SDP port is the internal one again, and the carrier draws
-- its ports at random (EIM_PRESERVE has no cgnat). SIP over TLS: the
-- helper is attached to port 5060 only, and could not read the messages
-- anyway - the ALG sees nothing and changes nothing.
local function alg_at(p, x)
  if not p.alg or open(x) or p.transport == "tls" then return false end
  return x ~= "cgnat" or p.alg_cgn == "both"
end

-- The callee can be reached at its registered contact: a public host, a
-- registrar that stores where the REGISTER came from (nathelper), or an ALG
-- that rewrote Contact to the public mapping. Over TCP too: baresip's
-- Contact names its listening port 5060, the connection leaves from an
-- ephemeral port; nf_nat_sip rewrites the address (keeping 5060) and the
-- REGISTER's conntrack expectation lets the registrar's new connection to
-- public:5060 in (measured, docs/sip.md).
local function contact_ok(p)
  if open(p.right) or p.help ~= "none" then return true end
  if not alg_at(p, p.right) then return false end
  -- ALGs on both NATs of a cgnat callee, over TCP: the Contact is
  -- rewritten to the carrier's public address:5060 and the carrier's
  -- expectation lets the registrar's new connection in, but the home NAT
  -- drops it by its RFC 5382 unsolicited-SYN rule (its drop log says so,
  -- docs/sip.md): measured, not derived
  return not (p.right == "cgnat" and p.transport ~= "udp")
end

-- p.keepalive -> "none" | "registrar" | "ua" (true and false, the knob's
-- first values, are registrar and none); raises on anything else.
local function keepalive(p)
  local k = p.keepalive
  if k == true or k == nil then return "registrar" end
  if k == false then return "none" end
  if k == "none" or k == "registrar" or k == "ua" then return k end
  error("sip: keepalive must be none, registrar or ua, not '" .. tostring(k) .. "'", 0)
end

-- The callee's UDP mapping toward the registrar outlives the wait before
-- the call (hold_s) when the NAT keeps it (nat_timeout_s: 0 is the
-- preset's 120 s) or keep-alives refresh it. A TCP (or TLS) connection is
-- not subject to the UDP timeout.
local function mapping_lives(p)
  if open(p.right) or p.transport ~= "udp" then return true end
  if p.nat_timeout_s == 0 or p.hold_s < p.nat_timeout_s then return true end
  local ka = keepalive(p)
  -- the UA's own keep-alives (SIP outbound, RFC 5626 §4.4.2: a STUN
  -- Binding to the registrar's 5060 every 80-100 % of the 2 s Flow-Timer)
  -- leave through the mapping: every NAT refreshes a mapping on outbound
  -- packets, whatever the registrar knows about the UA
  if ka == "ua" then return true end
  -- the registrar's (nathelper's OPTIONS every 2 s; the presets refresh a
  -- mapping on inbound packets too) go only to contacts it saw NATed
  -- (ping_nated_only): an ALG that rewrote Contact and Via hides the NAT,
  -- and the mapping dies; help=none has no nathelper at all
  return ka == "registrar" and p.help ~= "none" and not alg_at(p, p.right)
end

-- The SDP of UA y names where y's media can be reached: a public host, or
-- an ALG rewrite (the SDP's c= is the source address of the signalling, so
-- nf_nat_sip rewrites it) whose port is the mapping y's RTP really gets.
local function sdp_ok(p, y)
  return open(y) or (alg_at(p, y) and EIM_PRESERVE[y] == true)
end

-- x's RTP passes y's NAT filter: y has sent RTP to x's real public
-- address (ADF) or endpoint (APDF) - it sends to what x's SDP says.
local function filter_ok(p, x, y)
  if open(y) then return true end
  local f = FILTER[y]
  if f == "ei" then return true end
  if f == "ad" then return open(x) or alg_at(p, x) end
  return sdp_ok(p, x)
end

local function expect(p)
  local L, R = p.left, p.right
  if not sip_out(R, p.transport) then return "no-reg" end
  if not sip_out(L, p.transport) then return "no-call" end
  if not contact_ok(p) or not mapping_lives(p) then return "no-call" end
  -- baresip with ICE gathers its candidates before it sends the INVITE;
  -- behind a UDP-blocked caller its TURN allocation (UDP only in 1.0)
  -- never gets an answer and the INVITE is not sent while the cell waits
  if p.help == "ice" and no_udp(L) then return "no-call" end
  if no_udp(L) or no_udp(R) then return "no-audio" end
  -- sbc: both UAs send to rtpengine, which answers each from the port it
  -- was sent to, at the address and port the packets came from (latching)
  if p.help == "sbc" then return "two-way" end
  -- ice: the UAs find a path themselves - direct where the NATs allow one,
  -- else through the TURN server's relay, reached over UDP (RFC 8445; the
  -- same reasoning as docs/expected-matrix.md, which also derives which)
  if p.help == "ice" then return "two-way" end
  -- without a relay, x's RTP goes where y's SDP says (right's RTP to L)
  local lr = sdp_ok(p, R) and filter_ok(p, L, R)
  local rl = sdp_ok(p, L) and filter_ok(p, R, L)
  if lr and rl then return "two-way" end
  if lr then return "one-way:left->right" end
  if rl then return "one-way:right->left" end
  return "no-audio"
end

-- The report's name for a class (harness/report.c: a grid square is
-- coloured by it): the one-way classes by who hears the other, "left"
-- being the caller.
local REPORT = { ["two-way"] = "two-way", ["one-way:left->right"] = "one-way-to-callee",
                 ["one-way:right->left"] = "one-way-to-caller", ["no-audio"] = "no-audio",
                 ["no-call"] = "no-call", ["no-reg"] = "no-reg" }
local function report_class(class) return REPORT[class] or "failed" end

return { expect = expect, keepalive = keepalive, report_class = report_class }
