/* xmlcheck.h - a tiny XML well-formedness checker (XML 1.0 §2.1, §3.1,
 * §4.1) for what natlab draws as SVG (harness/ladder.h): balanced, properly
 * nested tags, quoted attributes with unique names, entity references
 * limited to the five predefined and character references, one root
 * element named svg, no '<' or stray '&' in text, no control characters.
 * Used by the harness_ladder fuzz target and unit test; not a general XML
 * parser (no comments, CDATA, processing instructions or DOCTYPE: the
 * ladder writes none). */
#ifndef NATLAB_HARNESS_FUZZ_XMLCHECK_H
#define NATLAB_HARNESS_FUZZ_XMLCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline bool xmlcheck_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == ':' || c == '.';
}

/* @s at '&': the length of a valid reference, or 0. A character
 * reference (XML 1.0 §4.1) is "&#" digits ";" or "&#x" hex digits ";". */
static inline size_t xmlcheck_entity_len(const char *s)
{
	static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", NULL};
	const char *digits = "0123456789";
	size_t i = 2, start;

	for (int k = 0; ents[k]; k++)
		if (strncmp(s, ents[k], strlen(ents[k])) == 0)
			return strlen(ents[k]);
	if (s[1] != '#')
		return 0;
	if (s[2] == 'x') {
		i = 3;
		digits = "0123456789abcdefABCDEF";
	}
	start = i;
	while (s[i] && strchr(digits, s[i]) && i < 12)
		i++;
	return s[i] == ';' && i > start ? i + 1 : 0;
}

/* NULL when @x is well-formed, else what is wrong. */
static inline const char *xmlcheck(const char *x)
{
	char stack[64][32];
	int depth = 0, roots = 0;
	const char *p = x;

	while (*p) {
		if (*p == '&') {
			size_t n = xmlcheck_entity_len(p);
			if (!n)
				return "bad entity in text";
			p += n;
			continue;
		}
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r')
			return "control character";
		if (*p != '<') {
			if (depth == 0 && *p != '\n' && *p != ' ')
				return "text outside the root";
			p++;
			continue;
		}
		p++;
		if (*p == '/') {
			char name[32];
			size_t n = 0;
			p++;
			while (xmlcheck_name_char(*p) && n < sizeof(name) - 1)
				name[n++] = *p++;
			name[n] = '\0';
			if (*p != '>' || depth == 0 || strcmp(stack[depth - 1], name) != 0)
				return "mismatched end tag";
			depth--;
			p++;
			continue;
		}
		{
			char name[32], attrs[32][32];
			int na = 0;
			size_t n = 0;
			while (xmlcheck_name_char(*p) && n < sizeof(name) - 1)
				name[n++] = *p++;
			name[n] = '\0';
			if (n == 0)
				return "empty tag name";
			if (depth == 0 && roots++ > 0)
				return "two roots";
			if (depth == 0 && strcmp(name, "svg") != 0)
				return "root is not svg";
			for (;;) {
				size_t an = 0;
				char q;
				while (*p == ' ' || *p == '\n')
					p++;
				if (*p == '>' || (*p == '/' && p[1] == '>'))
					break;
				if (na == 32)
					return "too many attributes";
				while (xmlcheck_name_char(*p) && an < 31)
					attrs[na][an++] = *p++;
				attrs[na][an] = '\0';
				if (an == 0 || *p++ != '=')
					return "attribute without a value";
				for (int k = 0; k < na; k++)
					if (strcmp(attrs[k], attrs[na]) == 0)
						return "attribute given twice";
				na++;
				q = *p++;
				if (q != '"' && q != '\'')
					return "unquoted attribute";
				while (*p && *p != q) {
					if (*p == '<')
						return "'<' in an attribute";
					if (*p == '&') {
						size_t e = xmlcheck_entity_len(p);
						if (!e)
							return "bad entity in an attribute";
						p += e;
						continue;
					}
					p++;
				}
				if (*p++ != q)
					return "unterminated attribute";
			}
			if (*p == '/') {
				p += 2;
				continue;
			}
			p++;
			if (depth == 64)
				return "too deep";
			strcpy(stack[depth++], name);
		}
	}
	if (depth != 0)
		return "unclosed element";
	return roots == 1 ? NULL : "no root element";
}

#endif
