/*
 * graph_load.c - loading an agent graph: a directory of YAML files, one
 * file, or text in memory. Reads the files, parses each (graph_yaml.c),
 * reads agents and graph keys (graph_schema.c), links them (graph_link.c)
 * and hands back the graph or every problem found.
 */
#include "graph_build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILES_MAX 10000 /* YAML files in one graph directory */
#define DEFAULT_MAX_TURNS 10
/* Agent names compared for "did you mean" in one load (each comparison
 * costs up to 64 x 64 steps); past it, unknown names get no suggestion. */
#define SUGGEST_BUDGET 200000

static int build_init(graph_build *b, const char *source, hf_error *err)
{
	memset(b, 0, sizeof(*b));
	b->g = hf_calloc(1, sizeof(*b->g));
	if (!b->g || hf_diag_new(&b->d) || !(b->g->source = hf_strdup(source))) {
		free(b->g);
		hf_diag_free(b->d);
		return hf_err(err, HF_ENOMEM, "out of memory loading %s", source);
	}
	b->suggest_budget = SUGGEST_BUDGET;
	b->g->routing = HF_ROUTING_STICKY;
	b->g->max_turns = DEFAULT_MAX_TURNS;
	b->g->endpoint.max_retries = -1;
	return HF_OK;
}

static bool is_graph_file(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strcmp(base, "handoff.yaml") || !strcmp(base, "handoff.yml");
}

/* Parse one text and read its documents into b. */
static void add_text(graph_build *b, const char *file, const char *text, size_t len)
{
	size_t before = hf_diag_count(b->d), i;
	gy_tree *t = NULL;
	char *name;

	if (b->ntrees == b->captrees) {
		size_t cap = b->captrees ? b->captrees * 2 : 8;
		gy_tree **trees = hf_realloc(b->trees, cap * sizeof(*trees));
		char **files;
		if (trees)
			b->trees = trees;
		files = trees ? hf_realloc(b->files, cap * sizeof(*files)) : NULL;
		if (!files) {
			b->oom = true;
			return;
		}
		b->files = files;
		b->captrees = cap;
	}
	name = hf_strdup(file);
	if (!name || gy_parse(&t, text, len, name, b->d)) {
		free(name);
		b->oom = true;
		return;
	}
	b->trees[b->ntrees] = t;
	b->files[b->ntrees++] = name;
	if (gy_doc_count(t) == 0 && hf_diag_count(b->d) == before)
		gb_report(b, HF_SEV_WARNING, name, NULL, "file is empty");
	for (i = 0; i < gy_doc_count(t) && !b->oom; i++)
		gb_read_document(b, gy_doc(t, i), name, is_graph_file(name));
}

/* Read fd to its end, but no more than GY_TEXT_MAX + 1 bytes (enough to
 * tell that it is too big), into the owned *text. `hint` is the expected
 * size. HF_ENOMEM, or -1 with errno set for a read error. */
static int read_all(int fd, size_t hint, char **text, size_t *len)
{
	size_t cap = hint < GY_TEXT_MAX ? hint + 1 : GY_TEXT_MAX + 1;
	char *buf = hf_malloc(cap);
	*text = NULL;
	*len = 0;
	if (!buf)
		return HF_ENOMEM;
	for (;;) {
		ssize_t r;
		if (*len == cap) { /* a pipe, or a file that grew */
			char *p;
			if (cap == GY_TEXT_MAX + 1)
				break;
			cap = cap * 2 < GY_TEXT_MAX + 1 ? cap * 2 : GY_TEXT_MAX + 1;
			if (!(p = hf_realloc(buf, cap))) {
				free(buf);
				return HF_ENOMEM;
			}
			buf = p;
		}
		r = read(fd, buf + *len, cap - *len);
		if (r == 0)
			break;
		if (r < 0 && errno != EINTR) {
			free(buf);
			return -1;
		}
		if (r > 0)
			*len += (size_t)r;
	}
	*text = buf;
	return HF_OK;
}

/* Read a whole file (regular, or a pipe such as /dev/stdin) and add it. */
static void add_file(graph_build *b, const char *path)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		gb_report(b, HF_SEV_ERROR, path, NULL, "cannot read: %s", strerror(errno));
	} else if (S_ISREG(st.st_mode) && (size_t)st.st_size > GY_TEXT_MAX) {
		b->oom = gy_report_too_big(b->d, path) != HF_OK; /* not worth reading */
	} else if ((rc = read_all(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 4096, &text,
	                          &len)) == HF_ENOMEM) {
		b->oom = true;
	} else if (rc) {
		gb_report(b, HF_SEV_ERROR, path, NULL, "cannot read: %s", strerror(errno));
	} else {
		add_text(b, path, text, len);
	}
	if (fd >= 0)
		close(fd);
	free(text);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	                          (n > 4 && !strcmp(name + n - 4, ".yml")));
}

/* A regular file, or a link to one; stat only when readdir cannot tell. */
static bool is_regular(const struct dirent *de, const char *path)
{
	struct stat st;
	if (de->d_type == DT_REG)
		return true;
	if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Add every *.yaml / *.yml regular file of dir, in name order. */
static void add_dir(graph_build *b, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **paths = NULL;
	size_t n = 0, cap = 0, i, dlen = strlen(dir);
	bool too_many = false;

	if (!d) {
		gb_report(b, HF_SEV_ERROR, dir, NULL, "cannot read the directory: %s", strerror(errno));
		return;
	}
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	while (!b->oom && !too_many && (de = readdir(d))) {
		char *path;
		if (!is_yaml_name(de->d_name))
			continue;
		path = hf_asprintf("%.*s/%s", (int)dlen, dir, de->d_name);
		if (path && !is_regular(de, path)) {
			free(path);
			continue;
		}
		if (path && n == FILES_MAX) { /* load none of them: a part is no graph */
			gb_report(b, HF_SEV_ERROR, dir, NULL,
			          "the graph directory holds more than %d YAML files (*.yaml, *.yml); "
			          "the limit is %d",
			          FILES_MAX, FILES_MAX);
			free(path);
			too_many = true;
			break;
		}
		if (path && n == cap) {
			char **p = hf_realloc(paths, (cap = cap ? cap * 2 : 16) * sizeof(*p));
			if (!p) {
				free(path);
				path = NULL;
			} else {
				paths = p;
			}
		}
		if (!path)
			b->oom = true;
		else
			paths[n++] = path;
	}
	closedir(d);
	if (n)
		qsort(paths, n, sizeof(*paths), cmp_names);
	for (i = 0; i < n; i++) {
		if (!b->oom && !too_many)
			add_file(b, paths[i]);
		free(paths[i]);
	}
	free(paths);
}

/* Link, sort the problems, and hand back the graph or the first error. */
static int build_finish(graph_build *b, hf_graph **out, hf_diag **diags, hf_error *err)
{
	size_t i, nerr;
	int rc = HF_OK;

	if (!b->oom)
		gb_link(b, b->g->source);
	if (hf_diag_finish(b->d, b->g->source))
		b->oom = true;
	nerr = hf_diag_error_count(b->d);
	if (b->oom) {
		rc = hf_err(err, HF_ENOMEM, "out of memory loading %s", b->g->source);
	} else if (nerr) {
		for (i = 0; hf_diag_severity(b->d, i) != HF_SEV_ERROR; i++)
			;
		if (nerr == 1)
			rc = hf_err(err, HF_ECONFIG, "%s", hf_diag_format(b->d, i));
		else
			rc = hf_err(err, HF_ECONFIG, "%s (and %zu more error%s)", hf_diag_format(b->d, i),
			            nerr - 1, nerr > 2 ? "s" : "");
	}
	for (i = 0; i < b->nagents; i++)
		hf_agent_dispose(&b->agents[i].a);
	free(b->agents);
	for (i = 0; i < b->ntrees; i++) {
		gy_free(b->trees[i]);
		free(b->files[i]);
	}
	free(b->trees);
	free(b->files);
	if (rc) {
		hf_graph_free(b->g);
	} else {
		*out = b->g;
		hf_err_clear(err);
	}
	if (diags)
		*diags = b->d;
	else
		hf_diag_free(b->d);
	return rc;
}

int hf_graph_load(hf_graph **out, const char *path, hf_diag **diags, hf_error *err)
{
	graph_build b;
	struct stat st;
	int rc;

	*out = NULL;
	if (diags)
		*diags = NULL;
	if (!path || !*path)
		return hf_err(err, HF_EINVAL, "no graph path given");
	if (stat(path, &st))
		return hf_err(err, errno == ENOENT ? HF_ENOTFOUND : HF_ECONFIG, "%s: %s", path,
		              strerror(errno));
	if ((rc = build_init(&b, path, err)))
		return rc;
	b.from_files = true;
	if (S_ISDIR(st.st_mode))
		add_dir(&b, path);
	else
		add_file(&b, path);
	return build_finish(&b, out, diags, err);
}

int hf_graph_load_string(hf_graph **out, const char *yaml, size_t len, const char *name,
                         hf_diag **diags, hf_error *err)
{
	graph_build b;
	int rc;

	*out = NULL;
	if (diags)
		*diags = NULL;
	if (!yaml && len)
		return hf_err(err, HF_EINVAL, "no YAML text given");
	if ((rc = build_init(&b, name ? name : "<string>", err)))
		return rc;
	add_text(&b, b.g->source, yaml ? yaml : "", len);
	return build_finish(&b, out, diags, err);
}
