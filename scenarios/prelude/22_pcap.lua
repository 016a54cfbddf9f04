-- 22_pcap.lua - reading the lab's own node captures (emu/capture.c,
-- natlab.capture): big-endian pcap, LINKTYPE_LINUX_SLL2, one record per
-- packet as seen, written while the cell runs. The wire's consent basis
-- (25_wire.lua) and the SIP judge (50_sip.lua) read them with this.

local pcap = {}
natlab.pcap = pcap

-- Parse the whole pcap records of @s from byte @pos on into @out (the
-- lab's node captures, emu/capture.c: big-endian pcap, LINKTYPE_LINUX_SLL2,
-- one record per packet as seen). Each packet: {t (s, float), ifindex, out
-- (PACKET_OUTGOING: the node sent it), proto "udp"|"tcp", src, sport, dst,
-- dport, payload}; IPv4 UDP and TCP only. Returns where the first record
-- not yet whole starts (#s + 1 when none is left).
local function pcap_parse(s, pos, out)
  while pos + 16 <= #s do
    local sec, usec, caplen = string.unpack(">I4I4I4", s, pos)
    local rec = pos + 16
    if rec + caplen - 1 > #s then break end
    pos = rec + caplen
    -- SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
    local eproto, _, ifindex, _, pkttype = string.unpack(">I2I2I4I2B", s, rec)
    local ip = rec + 20
    if eproto == 0x0800 and caplen >= 40 then
      local vihl = s:byte(ip)
      local ihl = (vihl & 0x0f) * 4
      local tot = string.unpack(">I2", s, ip + 2)
      local proto = s:byte(ip + 9)
      local src = string.format("%d.%d.%d.%d", s:byte(ip + 12, ip + 15))
      local dst = string.format("%d.%d.%d.%d", s:byte(ip + 16, ip + 19))
      local l4 = ip + ihl
      local last = math.min(ip + tot - 1, rec + caplen - 1)
      if proto == 17 and l4 + 8 <= last + 1 then
        local sp, dp = string.unpack(">I2I2", s, l4)
        out[#out + 1] = { t = sec + usec / 1e6, ifindex = ifindex, out = pkttype == 4, proto = "udp",
                          src = src, sport = sp, dst = dst, dport = dp,
                          payload = s:sub(l4 + 8, last) }
      elseif proto == 6 and l4 + 20 <= last + 1 then
        local sp, dp = string.unpack(">I2I2", s, l4)
        local doff = (s:byte(l4 + 12) >> 4) * 4
        out[#out + 1] = { t = sec + usec / 1e6, ifindex = ifindex, out = pkttype == 4, proto = "tcp",
                          src = src, sport = sp, dst = dst, dport = dp,
                          payload = s:sub(l4 + doff, last) }
      end
    end
  end
  return pos
end

local Capture = {}
Capture.__index = Capture

-- pcap.appended(r) -> text | nil: what was appended to @r.path since
-- @r.off (nil when nothing, or no file yet), @r.off moved past it: the
-- tail a reader of a growing file parses (this one, and natlab.sip's
-- reader of kamailio's sipdump).
function pcap.appended(r)
  local f = io.open(r.path, "rb")
  if not f then return nil end
  f:seek("set", r.off)
  local new = f:read("a") or ""
  f:close()
  if #new == 0 then return nil end
  r.off = r.off + #new
  return new
end

-- pcap.reader(path) -> reader of a capture the lab is still writing, a
-- piece at a time: reader:read() -> packets, new_bytes parses only what
-- was appended since its last call (a record the writer has not finished
-- waits for the next call) and returns every packet read so far
-- (reader.packets, the same list each time) and how many bytes the file
-- grew by. A scenario polling a capture while the call runs reads each
-- byte once.
function pcap.reader(path)
  return setmetatable({ path = path, off = 0, rest = "", packets = {} }, Capture)
end

function Capture:read()
  local new = pcap.appended(self)
  if not new then return self.packets, 0 end
  local s = self.rest .. new
  local pos = 1
  if not self.header then
    -- the file header (24 bytes): the format is the lab's own, not checked
    if #s < 24 then
      self.rest = s
      return self.packets, #new
    end
    self.header = true
    pos = 25
  end
  self.rest = s:sub(pcap_parse(s, pos, self.packets))
  return self.packets, #new
end

-- pcap.read(path) -> list of packets: the whole capture as it is now
-- (pcap.reader's packets); a record cut by the writer is left out.
function pcap.read(path)
  return (pcap.reader(path):read())
end
