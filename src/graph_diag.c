/*
 * graph_diag.c - the problems found while loading a graph: a list of
 * errors and warnings with file:line:col, the loader's way of reporting one
 * at a YAML node (gb_report), and "did you mean" suggestions.
 */
#include "graph_build.h"
#include "text.h"

#include <stdint.h>
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

/* Problems kept per file, and in all: a hostile file (aliases repeat a
 * node, and with it its problems, a million times) must not cost more. */
#define DIAG_FILE_MAX 100
#define DIAG_MAX 1000
/* Distinct problems remembered to tell repeats; past this every problem
 * over the limits counts as one more not shown. */
#define DIAG_SEEN_MAX 65536

typedef struct diag_file {
	const char *file; /* borrowed from an item */
	size_t kept;
} diag_file;

struct hf_diag {
	diag_item *items;
	size_t n, cap, nerrors;
	diag_file *files;  /* kept items per file */
	size_t nfiles, capfiles, last_file;
	uint64_t *seen;    /* hashes of the problems added (0: free slot) */
	size_t nseen, capseen;
	size_t hidden;     /* distinct problems over the limits */
	bool hidden_error; /* one of them is an error */
	bool summarized;
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

/* FNV-1a over the problem's severity, place and message; never 0. */
static uint64_t problem_hash(hf_severity sev, const char *file, int line, int col,
                             const char *msg)
{
	uint64_t h = 1469598103934665603ULL;
	int nums[3] = { (int)sev, line, col };
	const unsigned char *p;
	size_t i;
	for (i = 0; i < sizeof(nums); i++)
		h = (h ^ ((const unsigned char *)nums)[i]) * 1099511628211ULL;
	for (p = (const unsigned char *)file; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xFF) * 1099511628211ULL; /* "ab"+"c" differs from "a"+"bc" */
	for (p = (const unsigned char *)msg; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ? h : 1;
}

/* Remember hash h: 1 when it is new, 0 when it was seen (a repeat), -1
 * when it is new but the table is full, HF_ENOMEM. */
static int remember(hf_diag *d, uint64_t h)
{
	size_t i;
	if (d->nseen * 2 >= d->capseen && d->nseen < DIAG_SEEN_MAX) {
		size_t cap = d->capseen ? d->capseen * 2 : 64, j;
		uint64_t *t;
		if (!(t = hf_calloc(cap, sizeof(*t))))
			return HF_ENOMEM;
		for (j = 0; j < d->capseen; j++) {
			if (!d->seen[j])
				continue;
			for (i = d->seen[j] & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
				;
			t[i] = d->seen[j];
		}
		free(d->seen);
		d->seen = t;
		d->capseen = cap;
	}
	for (i = h & (d->capseen - 1); d->seen[i]; i = (i + 1) & (d->capseen - 1))
		if (d->seen[i] == h)
			return 0;
	if (d->nseen >= DIAG_SEEN_MAX)
		return -1; /* full: a new one cannot be remembered */
	d->seen[i] = h;
	d->nseen++;
	return 1;
}

/* The kept-problem count of `file` (added at 0 when new), or NULL. */
static diag_file *file_entry(hf_diag *d, const char *file)
{
	size_t i;
	if (d->last_file < d->nfiles && !strcmp(d->files[d->last_file].file, file))
		return &d->files[d->last_file];
	for (i = 0; i < d->nfiles; i++)
		if (!strcmp(d->files[i].file, file))
			return &d->files[d->last_file = i];
	if (d->nfiles == d->capfiles) {
		size_t cap = d->capfiles ? d->capfiles * 2 : 8;
		diag_file *p = hf_realloc(d->files, cap * sizeof(*p));
		if (!p)
			return NULL;
		d->files = p;
		d->capfiles = cap;
	}
	d->files[d->nfiles].file = NULL; /* set by the caller to the item's copy */
	d->files[d->nfiles].kept = 0;
	return &d->files[d->last_file = d->nfiles++];
}

static void hide(hf_diag *d, hf_severity sev)
{
	d->hidden++;
	if (sev == HF_SEV_ERROR)
		d->hidden_error = true;
}

static int append(hf_diag *d, hf_severity sev, const char *file, int line, int col,
                  const char *msg)
{
	diag_item it = { sev, line, col, d->n, NULL, NULL, NULL };
	const char *what = sev == HF_SEV_ERROR ? "error" : "warning";
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

int hf_diag_addv(hf_diag *d, hf_severity sev, const char *file, int line, int col,
                 const char *fmt, va_list ap)
{
	char msg[HF_ERROR_MESSAGE_MAX];
	diag_file *f;
	int rc;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	hf_text_scrub(msg, sizeof(msg), msg, strlen(msg)); /* names quoted in it act on no terminal */
	rc = remember(d, problem_hash(sev, file, line, col, msg));
	if (rc == 0 || rc == HF_ENOMEM)
		return rc; /* a repeat (same place, same message) is shown once */
	/* warnings take at most half the room, so that errors always show */
	if (d->n >= (sev == HF_SEV_ERROR ? DIAG_MAX : DIAG_MAX / 2)) {
		hide(d, sev);
		return HF_OK;
	}
	if (!(f = file_entry(d, file)))
		return HF_ENOMEM;
	if (f->kept >= (sev == HF_SEV_ERROR ? DIAG_FILE_MAX : DIAG_FILE_MAX / 2)) {
		hide(d, sev);
		return HF_OK;
	}
	if ((rc = append(d, sev, file, line, col, msg))) {
		if (!f->file) /* the entry just made: drop it */
			d->nfiles--;
		return rc;
	}
	if (!f->file)
		f->file = d->items[d->n - 1].file;
	f->kept++;
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

int hf_diag_finish(hf_diag *d, const char *source)
{
	char msg[200];
	int rc;
	hf_diag_sort(d);
	if (!d->hidden || d->summarized)
		return HF_OK;
	snprintf(msg, sizeof(msg),
	         "%zu more problem%s not shown (at most %d per file and %d in all are listed, "
	         "half of them warnings at most)",
	         d->hidden, d->hidden == 1 ? "" : "s", DIAG_FILE_MAX, DIAG_MAX);
	if ((rc = append(d, d->hidden_error ? HF_SEV_ERROR : HF_SEV_WARNING, source, 0, 0, msg)))
		return rc;
	d->summarized = true;
	return HF_OK;
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
	free(d->files);
	free(d->seen);
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

const char *hf_diag_nearest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, i;
	size_t wlen = strlen(word);
	if (wlen >= 64) /* past edit_distance's reach; and no typo of a name */
		return NULL;
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
