/*
 * graph_diag.c - the problems found while loading a graph: a list of
 * errors and warnings with file:line:col, the loader's way of reporting one
 * at a YAML node (gb_report), and "did you mean" suggestions.
 */
#include "graph_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct diag_item {
	hf_severity sev;
	int line, col;
	size_t seq;      /* order of discovery, for a stable sort */
	char *file;
	char *message;
	char *formatted; /* "file:line:col: error: message" */
} diag_item;

struct hf_diag {
	diag_item *items;
	size_t n, cap, nerrors;
};

int hf_diag_new(hf_diag **out)
{
	*out = hf_calloc(1, sizeof(**out));
	return *out ? HF_OK : HF_ENOMEM;
}

int hf_diag_add(hf_diag *d, hf_severity sev, const char *file, int line, int col,
                const char *fmt, ...)
{
	va_list ap;
	int rc;
	va_start(ap, fmt);
	rc = hf_diag_addv(d, sev, file, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

int hf_diag_addv(hf_diag *d, hf_severity sev, const char *file, int line, int col,
                 const char *fmt, va_list ap)
{
	diag_item it = { sev, line, col, d->n, NULL, NULL, NULL };
	const char *what = sev == HF_SEV_ERROR ? "error" : "warning";
	char msg[HF_ERROR_MESSAGE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		diag_item *p = hf_realloc(d->items, cap * sizeof(*p));
		if (!p)
			return HF_ENOMEM;
		d->items = p;
		d->cap = cap;
	}
	it.file = hf_strdup(file);
	it.message = hf_strdup(msg);
	it.formatted = line > 0 ? hf_asprintf("%s:%d:%d: %s: %s", file, line, col, what, msg)
	                        : hf_asprintf("%s: %s: %s", file, what, msg);
	if (!it.file || !it.message || !it.formatted) {
		free(it.file);
		free(it.message);
		free(it.formatted);
		return HF_ENOMEM;
	}
	d->items[d->n++] = it;
	if (sev == HF_SEV_ERROR)
		d->nerrors++;
	return HF_OK;
}

static int diag_cmp(const void *pa, const void *pb)
{
	const diag_item *a = pa, *b = pb;
	int c = strcmp(a->file, b->file);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void hf_diag_sort(hf_diag *d)
{
	if (d && d->n > 1)
		qsort(d->items, d->n, sizeof(*d->items), diag_cmp);
}

size_t hf_diag_count(const hf_diag *d)
{
	return d ? d->n : 0;
}

size_t hf_diag_error_count(const hf_diag *d)
{
	return d ? d->nerrors : 0;
}

hf_severity hf_diag_severity(const hf_diag *d, size_t i)
{
	return d && i < d->n ? d->items[i].sev : HF_SEV_ERROR;
}

const char *hf_diag_file(const hf_diag *d, size_t i)
{
	return d && i < d->n ? d->items[i].file : NULL;
}

int hf_diag_line(const hf_diag *d, size_t i)
{
	return d && i < d->n ? d->items[i].line : 0;
}

int hf_diag_column(const hf_diag *d, size_t i)
{
	return d && i < d->n ? d->items[i].col : 0;
}

const char *hf_diag_message(const hf_diag *d, size_t i)
{
	return d && i < d->n ? d->items[i].message : NULL;
}

const char *hf_diag_format(const hf_diag *d, size_t i)
{
	return d && i < d->n ? d->items[i].formatted : NULL;
}

void hf_diag_free(hf_diag *d)
{
	size_t i;
	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
		free(d->items[i].formatted);
	}
	free(d->items);
	free(d);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Levenshtein distance in bytes, ignoring ASCII case; strings over 64
 * bytes count as far apart. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, row[65];
	if (lb >= HF_ARRAY_LEN(row) || la >= HF_ARRAY_LEN(row))
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (lower(a[i - 1]) != lower(b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *hf_nearest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, i;
	size_t wlen = strlen(word);
	for (i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		size_t clen = strlen(candidates[i]);
		size_t limit = clen / 3 ? clen / 3 : 1;
		/* a word that starts the candidate ("Triage" for "Triage agent") */
		bool prefix = wlen >= 3 && wlen < clen && !strncmp(word, candidates[i], wlen);
		if ((prefix || (d <= limit && d < wlen)) && d < best_d) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}

void gb_report(graph_build *b, hf_severity sev, const char *file, const gy_node *at,
               const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (hf_diag_addv(b->d, sev, file, at ? at->line : 0, at ? at->col : 0, fmt, ap))
		b->oom = true;
	va_end(ap);
}
