/* SPDX-License-Identifier: MIT */
/*
 * Per-VM policy from libvirt domain metadata: the element an orchestrator sets with
 * `virsh metadata DOM --uri SBCO_XMLNS --key sbco --set '<policy mode="sbco"/>'` (or in
 * the domain XML it defines), as virDomainGetMetadata() returns it. The text comes from
 * whoever may define domains, so it is parsed with libxml2 (no network, no entity
 * expansion, no DTD), bounded in size, and anything unexpected makes the whole element
 * invalid with a reason: sbcod reports it per VM and goes on with the config's policy.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbco.h"
#include "util.h"

#define META_MAX 4096

void sbco_vm_meta_clear(struct sbco_vm_meta *m)
{
	free(m->error);
	memset(m, 0, sizeof(*m));
}

static int invalid(struct sbco_vm_meta *m, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m->valid = false;
	m->has_mode = m->has_alpha = false;
	m->error = strdup(buf);
	return m->error ? -EINVAL : -ENOMEM;
}

/* A printable, bounded copy of untrusted text for an error message. */
static void clip(const char *in, char *out, size_t n)
{
	size_t k = 0;

	for (; in && *in && k + 1 < n; in++)
		out[k++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[k] = '\0';
}

static int attribute(struct sbco_vm_meta *m, const char *name, const char *val)
{
	char v[40];

	clip(val, v, sizeof(v));
	if (!strcmp(name, "mode")) {
		for (int i = 0; i <= SBCO_MODE_SBCO; i++)
			if (!strcmp(val, sbco_mode_name((enum sbco_mode)i))) {
				m->mode = (enum sbco_mode)i;
				m->has_mode = true;
				return 0;
			}
		return invalid(m, "mode: expected off, bal or sbco, got '%s'", v);
	}
	if (!strcmp(name, "alpha")) {
		char *end;
		double a;

		errno = 0;
		a = strtod(val, &end);
		if (end == val || *end || errno || !isfinite(a) || a <= 0 || a > 1)
			return invalid(m, "alpha: must be a number in (0, 1], got '%s'", v);
		m->alpha = a;
		m->has_alpha = true;
		return 0;
	}
	clip(name, v, sizeof(v));
	return invalid(m, "unknown attribute '%s' (mode and alpha are known)", v);
}

static int element(struct sbco_vm_meta *m, xmlNode *root)
{
	char n[40];

	clip((const char *)root->name, n, sizeof(n));
	/* libvirt returns the element it found by our namespace without the namespace
	 * (virDomainGetMetadata drops it), so none is fine; another one is not ours */
	if (root->ns && (!root->ns->href || strcmp((const char *)root->ns->href, SBCO_XMLNS)))
		return invalid(m, "element '%s' is not in the namespace " SBCO_XMLNS, n);
	if (strcmp((const char *)root->name, "policy"))
		return invalid(m, "expected a <policy> element, got <%s>", n);
	for (xmlNode *c = root->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			clip((const char *)c->name, n, sizeof(n));
			return invalid(m, "<policy> has no child elements, got <%s>", n);
		}
		if (c->type == XML_TEXT_NODE && !xmlIsBlankNode(c))
			return invalid(m, "<policy> has no text content");
	}
	for (xmlAttr *a = root->properties; a; a = a->next) {
		xmlChar *v = xmlNodeListGetString(root->doc, a->children, 1);
		int r;

		if (a->ns) {
			xmlFree(v);
			clip((const char *)a->name, n, sizeof(n));
			return invalid(m, "attribute '%s' must not have a namespace prefix", n);
		}
		r = attribute(m, (const char *)a->name, v ? (const char *)v : "");
		xmlFree(v);
		if (r < 0)
			return r;
	}
	if (!m->has_mode && !m->has_alpha)
		return invalid(m, "<policy> sets nothing (mode or alpha)");
	return 0;
}

/* libxml2 reports to stderr by default; parse errors are returned, not printed. */
static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int sbco_meta_parse(const char *xml, size_t len, struct sbco_vm_meta *ret)
{
	xmlDoc *doc;
	xmlNode *root;
	int r;

	sbco_vm_meta_clear(ret);
	ret->present = true;
	ret->valid = true;
	if (len > META_MAX)
		return invalid(ret, "metadata larger than %d bytes", META_MAX);
	if (memchr(xml, '\0', len))
		return invalid(ret, "metadata contains a NUL byte");
	xmlSetGenericErrorFunc(NULL, quiet);
	doc = xmlReadMemory(xml, (int)len, "sbco-metadata.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				XML_PARSE_NOCDATA);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char msg[80];

		clip(e && e->message ? e->message : "parse error", msg, sizeof(msg));
		msg[strcspn(msg, "?")] = '\0'; /* the message ends in a newline */
		r = invalid(ret, "not well-formed XML (line %d: %s)", e ? e->line : 0, msg);
		xmlResetLastError();
		return r;
	}
	if (doc->intSubset || doc->extSubset)
		r = invalid(ret, "a DOCTYPE is not allowed");
	else if (!(root = xmlDocGetRootElement(doc)))
		r = invalid(ret, "no element");
	else
		r = element(ret, root);
	xmlFreeDoc(doc);
	return r;
}
