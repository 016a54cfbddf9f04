/* stun_server.c - Binding answers: RFC 8489 §6.3 and RFC 5780 §6.1, with
 * RFC 3489 answers for clients that send no magic cookie. */
#include "agents/stun/stun_server.h"

#include <errno.h>
#include <string.h>

bool stun_server_endpoint(const struct stun_server_config *cfg, int ep, struct stun_addr *out)
{
	if (ep < 0 || ep >= STUN_SERVER_ENDPOINTS)
		return false;
	int ai = ep >> 1;
	int pi = ep & 1;
	if (cfg->addr[ai].family == 0)
		return false;
	if (pi == 1 && cfg->alt_port == 0)
		return false;
	*out = cfg->addr[ai];
	out->port = pi ? cfg->alt_port : cfg->port;
	return true;
}

/* RFC 5780 §7.4: OTHER-ADDRESS is where answers to "change IP" and "change
 * port" would come from - the endpoint differing in both. */
static int other_endpoint(int ep)
{
	return ep ^ 3;
}

static int begin(struct stun_builder *b, const struct stun_msg *m, enum stun_class cls,
		 uint8_t *out, size_t cap)
{
	uint16_t type = stun_type_make(cls, m->method);
	if (m->classic)
		return stun_builder_init_classic(b, out, cap, type, m->buf + 4);
	return stun_builder_init(b, out, cap, type, m->tid);
}

static int finish(const struct stun_server_config *cfg, const struct stun_msg *m,
		  struct stun_builder *b, struct stun_server_answer *ans)
{
	/* RFC 3489 used 0x8022 for SERVER (a string padded to 4 bytes):
	 * classic clients choke on an unpadded SOFTWARE, so they get none */
	if (cfg->software && !m->classic)
		stun_builder_add_string(b, STUN_ATTR_SOFTWARE, cfg->software);
	/* RFC 3489 clients predate FINGERPRINT; it is comprehension-optional
	 * but buys them nothing. Otherwise answer in kind by default: a client
	 * that multiplexes STUN with other traffic (ICE, TURN) sends one and
	 * uses the one it gets back (RFC 8489 §7.3 / §14.7). */
	bool fp = cfg->fingerprint == STUN_SERVER_FP_ALWAYS ||
		  (cfg->fingerprint == STUN_SERVER_FP_MIRROR && m->fp_idx >= 0);
	if (fp && !m->classic)
		stun_builder_add_fingerprint(b);
	long n = stun_builder_finish(b);
	if (n < 0)
		return 0; /* cannot happen with STUN_SERVER_MAX_ANSWER; drop */
	ans->len = (size_t)n;
	return 1;
}

static int error_answer(const struct stun_server_config *cfg, const struct stun_msg *m, int ep,
			const struct stun_addr *src, int code, const char *reason,
			const uint16_t *unknown, size_t n_unknown, uint8_t *out, size_t cap,
			struct stun_server_answer *ans)
{
	struct stun_builder b;
	begin(&b, m, STUN_CLASS_ERROR, out, cap);
	stun_builder_add_error(&b, code, reason);
	if (n_unknown)
		stun_builder_add_unknown_attrs(&b, unknown, n_unknown);
	ans->from = ep;
	ans->to = *src;
	return finish(cfg, m, &b, ans);
}

int stun_server_handle(const struct stun_server_config *cfg, int ep, bool tcp,
		       const struct stun_addr *src, const uint8_t *req, size_t len, uint8_t *out,
		       size_t cap, struct stun_server_answer *ans)
{
	struct stun_addr here;
	if (!stun_server_endpoint(cfg, ep, &here) || cap < STUN_SERVER_MAX_ANSWER)
		return -EINVAL;
	struct stun_msg m;
	if (stun_msg_decode(&m, req, len, STUN_DECODE_CLASSIC, NULL) != 0)
		return 0;
	/* RFC 8489 §6.3.2: indications get no answer; responses reaching a
	 * server are not for it. */
	if (m.cls != STUN_CLASS_REQUEST)
		return 0;
	/* RFC 8489 §7.3: "If the FINGERPRINT extension is being used, the
	 * FINGERPRINT attribute is checked ... if it does not match, the
	 * message is discarded" */
	if (m.fp_idx >= 0 && stun_msg_check_fingerprint(&m) != 0)
		return 0;
	if (m.method != STUN_METHOD_BINDING)
		return error_answer(cfg, &m, ep, src, 400, "Only Binding is served here", NULL, 0,
				    out, cap, ans);
	/* RFC 8489 §6.3.1: "If the request contains one or more unknown
	 * comprehension-required attributes, the server replies with an
	 * error response with an error code of 420 (Unknown Attribute) and
	 * includes an UNKNOWN-ATTRIBUTES attribute in the response that lists
	 * the unknown comprehension-required attributes." */
	if (m.n_unknown)
		return error_answer(cfg, &m, ep, src, 420, NULL, m.unknown, m.n_unknown, out, cap,
				    ans);

	int from = ep;
	uint32_t change = 0;
	int r = stun_msg_get_u32(&m, STUN_ATTR_CHANGE_REQUEST, &change);
	if (r == -EBADMSG)
		return error_answer(cfg, &m, ep, src, 400, "Bad CHANGE-REQUEST", NULL, 0, out, cap,
				    ans);
	change &= STUN_CHANGE_IP | STUN_CHANGE_PORT;
	if (change) {
		static const uint16_t cr = STUN_ATTR_CHANGE_REQUEST;
		/* A TCP answer can only leave on the connection it came on. */
		if (tcp)
			return error_answer(cfg, &m, ep, src, 400, "CHANGE-REQUEST over TCP", NULL,
					    0, out, cap, ans);
		if (change & STUN_CHANGE_IP)
			from ^= 2;
		if (change & STUN_CHANGE_PORT)
			from ^= 1;
		struct stun_addr tmp;
		/* A server without the alternate address or port it is asked
		 * to use cannot honour CHANGE-REQUEST: for it, the attribute
		 * is one it does not support, so 420 naming it (coturn also
		 * answers 420 here), and the client learns this server does
		 * no RFC 5780 discovery. */
		if (!stun_server_endpoint(cfg, from, &tmp))
			return error_answer(cfg, &m, ep, src, 420, NULL, &cr, 1, out, cap, ans);
	}

	struct stun_addr to = *src;
	uint16_t rport;
	r = stun_msg_get_response_port(&m, &rport);
	if (r == -EBADMSG)
		return error_answer(cfg, &m, ep, src, 400, "Bad RESPONSE-PORT", NULL, 0, out, cap,
				    ans);
	/* RFC 5780 §7.5: RESPONSE-PORT names the port the answer goes to;
	 * meaningful over UDP only. */
	if (r == 0 && !tcp && !m.classic)
		to.port = rport;

	struct stun_addr origin, other;
	stun_server_endpoint(cfg, from, &origin);
	bool have_other = stun_server_endpoint(cfg, other_endpoint(ep), &other);

	struct stun_builder b;
	begin(&b, &m, STUN_CLASS_SUCCESS, out, cap);
	if (m.classic) {
		/* RFC 3489 §11.2: MAPPED-ADDRESS, SOURCE-ADDRESS (where the
		 * answer comes from), CHANGED-ADDRESS (the alternate IP and
		 * port). */
		stun_builder_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, src);
		stun_builder_add_addr(&b, STUN_ATTR_SOURCE_ADDRESS, &origin);
		if (have_other)
			stun_builder_add_addr(&b, STUN_ATTR_CHANGED_ADDRESS, &other);
	} else {
		/* RFC 8489 §6.3.1.1: "the server MUST add an XOR-MAPPED-ADDRESS
		 * attribute to the response" */
		stun_builder_add_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, src);
		/* RFC 8489 §14.1: MAPPED-ADDRESS "is used primarily for
		 * backwards compatibility with RFC 3489 clients"; RFC 5780
		 * clients such as coturn's natdiscovery still look for it. */
		stun_builder_add_addr(&b, STUN_ATTR_MAPPED_ADDRESS, src);
		/* RFC 5780 §6.1: RESPONSE-ORIGIN in every answer, and
		 * OTHER-ADDRESS when the server has an alternate. */
		stun_builder_add_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &origin);
		if (have_other)
			stun_builder_add_addr(&b, STUN_ATTR_OTHER_ADDRESS, &other);
		const uint8_t *pad;
		size_t padlen;
		/* RFC 5780 §7.6: PADDING pads a message so that it is
		 * fragmented; a request carrying it asks for an answer of the
		 * same bulk, so that the way back is tested too. */
		if (!tcp && stun_msg_get_bytes(&m, STUN_ATTR_PADDING, &pad, &padlen) == 0) {
			if (padlen > STUN_SERVER_MAX_PADDING)
				padlen = STUN_SERVER_MAX_PADDING;
			uint8_t *p = stun_builder_reserve(&b, STUN_ATTR_PADDING, padlen);
			if (p)
				memset(p, 0, padlen);
		}
	}
	ans->from = from;
	ans->to = to;
	return finish(cfg, &m, &b, ans);
}
