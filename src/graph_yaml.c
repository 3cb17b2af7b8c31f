/*
 * graph_yaml.c - YAML text to a tree of positioned nodes, built from
 * libyaml's events so that nesting depth, alias expansion and positions are
 * under our control. All nodes and strings live in one arena per text.
 */
#include "graph_yaml.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <yaml.h>

#define BLOCK_MIN 4096   /* the first arena block; small files stay small */
#define BLOCK_MAX 65536  /* blocks double up to this */
#define ANCHORS_MAX 256

typedef struct block {
	struct block *next;
	size_t used, cap;
	max_align_t data[];
} block;

struct gy_tree {
	block *blocks;
	const gy_node **docs;
	size_t ndocs, capdocs;
};

static void *arena_alloc(gy_tree *t, size_t n)
{
	block *b = t->blocks;
	void *p;
	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (!b || b->cap - b->used < n) {
		size_t cap = !b ? BLOCK_MIN : b->cap * 2 < BLOCK_MAX ? b->cap * 2 : BLOCK_MAX;
		block *nb;
		if (cap < n)
			cap = n;
		nb = hf_malloc(sizeof(block) + cap);
		if (!nb)
			return NULL;
		nb->used = 0;
		nb->cap = cap;
		if (b && n > BLOCK_MAX) { /* a big one: keep the current block in front */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			t->blocks = nb;
		}
		b = nb;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

void gy_free(gy_tree *t)
{
	block *b, *next;
	if (!t)
		return;
	for (b = t->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(t->docs);
	free(t);
}

size_t gy_doc_count(const gy_tree *t)
{
	return t ? t->ndocs : 0;
}

const gy_node *gy_doc(const gy_tree *t, size_t i)
{
	return t && i < t->ndocs ? t->docs[i] : NULL;
}

bool gy_is_null(const gy_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;
	if (n->kind != GY_SCALAR || !n->plain || n->len > 4)
		return false;
	for (i = 0; i < HF_ARRAY_LEN(nulls); i++)
		if (!strcmp(n->str, nulls[i]))
			return true;
	return false;
}

/* ---- positions and UTF-8 ---- */

/* Walk text[0..end) counting lines and columns in code points, as libyaml
 * marks do (a leading BOM takes no column). Returns the offset of the first
 * byte that is not valid UTF-8, or end; *line / *col are its position. */
static size_t walk(const char *text, size_t end, int *line, int *col)
{
	const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;
	size_t i = 0;
	*line = *col = 1;
	if (end >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		i = 3;
	while (i < end) {
		utf8proc_int32_t cp = s[i];
		utf8proc_ssize_t k = 1;
		if (cp >= 0x80 || cp == 0) /* ASCII needs no decoding */
			k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(end - i), &cp);
		if (k < 0)
			return i;
		i += (size_t)k;
		if (cp == '\n' || (cp == '\r' && (i >= end || s[i] != '\n'))) {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
	return end;
}

/* ---- building the tree from events ---- */

typedef struct frame {
	gy_node *node;
	size_t base;        /* where its children start on the kids stack */
	const char *anchor; /* arena copy, or NULL */
} frame;

typedef struct anchor {
	const char *name;
	const gy_node *node;
} anchor;

typedef struct builder {
	gy_tree *t;
	hf_diag *d;
	const char *file;
	frame frames[GY_DEPTH_MAX];
	size_t depth;
	gy_node **kids;  /* children of the open containers, innermost last */
	size_t nkids, capkids;
	anchor anchors[ANCHORS_MAX];
	size_t nanchors;
	gy_node *root;
	size_t done_weight; /* nodes of the earlier documents, aliases expanded */
	bool stop;       /* a problem was reported: give up on this text */
	bool oom;
} builder;

static void problem(builder *b, int line, int col, const char *fmt, ...) HF_PRINTF(4, 5);

static void problem(builder *b, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (hf_diag_addv(b->d, HF_SEV_ERROR, b->file, line, col, fmt, ap))
		b->oom = true;
	va_end(ap);
	b->stop = true;
}

static void problem_at(builder *b, const yaml_mark_t *m, const char *fmt, ...) HF_PRINTF(3, 4);

static void problem_at(builder *b, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (hf_diag_addv(b->d, HF_SEV_ERROR, b->file, (int)m->line + 1, (int)m->column + 1, fmt, ap))
		b->oom = true;
	va_end(ap);
	b->stop = true;
}

static char *arena_strndup(gy_tree *t, const char *s, size_t n)
{
	char *p = arena_alloc(t, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static gy_node *new_node(builder *b, gy_kind kind, const yaml_mark_t *mark)
{
	gy_node *n = arena_alloc(b->t, sizeof(*n));
	if (!n) {
		b->oom = true;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	n->weight = 1;
	return n;
}

static void add_anchor(builder *b, const char *name, const gy_node *n, const yaml_mark_t *m)
{
	if (!name)
		return;
	if (b->nanchors == ANCHORS_MAX) {
		problem_at(b, m, "more than %d anchors in one document", ANCHORS_MAX);
		return;
	}
	b->anchors[b->nanchors].name = name;
	b->anchors[b->nanchors++].node = n;
}

/* A finished node goes to its parent's children, or becomes the root. */
static void finish(builder *b, gy_node *n)
{
	if (n->weight > GY_NODES_MAX) {
		problem(b, n->line, n->col, "aliases expand this document to over %d nodes",
		        GY_NODES_MAX);
		return;
	}
	if (b->done_weight + n->weight > GY_NODES_MAX) { /* the budget is the file's */
		problem(b, n->line, n->col,
		        "aliases expand this file to over %d nodes (with its earlier documents)",
		        GY_NODES_MAX);
		return;
	}
	if (b->depth == 0) {
		b->root = n;
		return;
	}
	if (b->nkids == b->capkids) {
		size_t cap = b->capkids ? b->capkids * 2 : 64;
		gy_node **p = hf_realloc(b->kids, cap * sizeof(*p));
		if (!p) {
			b->oom = true;
			return;
		}
		b->kids = p;
		b->capkids = cap;
	}
	b->kids[b->nkids++] = n;
}

static void on_scalar(builder *b, const yaml_event_t *ev)
{
	gy_node *n = new_node(b, GY_SCALAR, &ev->start_mark);
	const char *anchor = NULL;
	if (!n)
		return;
	n->str = arena_strndup(b->t, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	if (ev->data.scalar.anchor)
		anchor = arena_strndup(b->t, (const char *)ev->data.scalar.anchor,
		                       strlen((const char *)ev->data.scalar.anchor));
	if (!n->str || (ev->data.scalar.anchor && !anchor)) {
		b->oom = true;
		return;
	}
	n->len = ev->data.scalar.length;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
	add_anchor(b, anchor, n, &ev->start_mark);
	finish(b, n);
}

static void on_start(builder *b, const yaml_event_t *ev, gy_kind kind, const yaml_char_t *anchor)
{
	frame *f;
	if (b->depth == GY_DEPTH_MAX) {
		problem_at(b, &ev->start_mark, "nesting deeper than %d levels", GY_DEPTH_MAX);
		return;
	}
	f = &b->frames[b->depth];
	f->node = new_node(b, kind, &ev->start_mark);
	f->base = b->nkids;
	f->anchor = anchor ? arena_strndup(b->t, (const char *)anchor, strlen((const char *)anchor))
	                   : NULL;
	if (!f->node || (anchor && !f->anchor)) {
		b->oom = true;
		return;
	}
	b->depth++;
}

static void on_end(builder *b, const yaml_event_t *ev)
{
	frame *f = &b->frames[--b->depth];
	gy_node *n = f->node;
	size_t i;
	n->nkids = b->nkids - f->base;
	if (n->nkids) {
		n->kids = arena_alloc(b->t, n->nkids * sizeof(*n->kids));
		if (!n->kids) {
			b->oom = true;
			return;
		}
		memcpy(n->kids, b->kids + f->base, n->nkids * sizeof(*n->kids));
	}
	for (i = 0; i < n->nkids && n->weight <= GY_NODES_MAX; i++)
		n->weight += n->kids[i]->weight;
	b->nkids = f->base;
	add_anchor(b, f->anchor, n, &ev->start_mark);
	finish(b, n);
}

static void on_alias(builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	size_t i = b->nanchors;
	while (i > 0 && strcmp(b->anchors[i - 1].name, name))
		i--;
	if (i == 0) {
		problem_at(b, &ev->start_mark, "alias '*%s' has no complete anchor before it", name);
		return;
	}
	finish(b, (gy_node *)b->anchors[i - 1].node);
}

static void add_doc(builder *b)
{
	if (b->t->ndocs == b->t->capdocs) {
		size_t cap = b->t->capdocs ? b->t->capdocs * 2 : 4;
		const gy_node **p = hf_realloc(b->t->docs, cap * sizeof(*p));
		if (!p) {
			b->oom = true;
			return;
		}
		b->t->docs = p;
		b->t->capdocs = cap;
	}
	b->t->docs[b->t->ndocs++] = b->root;
	if (b->root)
		b->done_weight += b->root->weight;
	b->root = NULL;
}

static void yaml_problem(builder *b, const yaml_parser_t *p, const char *text)
{
	int line, col;
	if (p->error == YAML_MEMORY_ERROR) {
		b->oom = true;
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		walk(text, p->problem_offset, &line, &col);
	} else {
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
	}
	if (p->context)
		problem(b, line, col, "invalid YAML: %s (%s at %d:%d)", p->problem, p->context,
		        (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	else
		problem(b, line, col, "invalid YAML: %s", p->problem ? p->problem : "parse error");
}

static void run_events(builder *b, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	bool done = false;

	if (!yaml_parser_initialize(&parser)) {
		b->oom = true;
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !b->stop && !b->oom) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_problem(b, &parser, text);
			break;
		}
		switch (ev.type) {
		case YAML_SCALAR_EVENT: on_scalar(b, &ev); break;
		case YAML_SEQUENCE_START_EVENT:
			on_start(b, &ev, GY_SEQ, ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			on_start(b, &ev, GY_MAP, ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: on_end(b, &ev); break;
		case YAML_ALIAS_EVENT: on_alias(b, &ev); break;
		case YAML_DOCUMENT_START_EVENT: b->nanchors = 0; break;
		case YAML_DOCUMENT_END_EVENT: add_doc(b); break;
		case YAML_STREAM_END_EVENT: done = true; break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
}

int gy_report_too_big(hf_diag *d, const char *file)
{
	return hf_diag_add(d, HF_SEV_ERROR, file, 0, 0,
	                   "file is over the size limit of 1 MiB (%d bytes)", GY_TEXT_MAX);
}

int gy_parse(gy_tree **out, const char *text, size_t len, const char *file, hf_diag *d)
{
	builder b;
	int line, col;
	size_t bad;

	memset(&b, 0, sizeof(b));
	*out = NULL;
	b.t = hf_calloc(1, sizeof(*b.t));
	if (!b.t)
		return HF_ENOMEM;
	b.d = d;
	b.file = file;
	if (len > GY_TEXT_MAX)
		b.oom = gy_report_too_big(d, file) != HF_OK;
	else if ((bad = walk(text, len, &line, &col)) < len)
		problem(&b, line, col, "invalid UTF-8 (byte 0x%02X); files must be UTF-8",
		        (unsigned char)text[bad]);
	else
		run_events(&b, text, len);
	free(b.kids);
	if (b.oom) {
		gy_free(b.t);
		return HF_ENOMEM;
	}
	if (b.stop) /* a partial tree is worth nothing */
		b.t->ndocs = 0;
	*out = b.t;
	return HF_OK;
}
