/*
 * regress_main.c - the plain regression runner of a fuzz target (no
 * libFuzzer): feeds every file of the directories (or files) named on the
 * command line to LLVMFuzzerTestOneInput, once each. A missing directory is
 * skipped (fuzz/regressions/<target>/ exists only once a finding was fixed).
 * Exit status 0 when every input ran; a broken invariant aborts.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static unsigned long ran;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	ran++;
	return 0;
}

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, i;
	int bad = 0;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "cannot open %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		char **grown;
		if (e->d_name[0] == '.')
			continue;
		if (!(grown = realloc(names, (n + 1) * sizeof(*names))) ||
		    !(grown[n] = strdup(e->d_name))) {
			names = grown ? grown : names;
			bad = 1;
			break;
		}
		names = grown;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), compare);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		bad |= run_file(path);
		free(names[i]);
	}
	free(names);
	return bad;
}

int main(int argc, char **argv)
{
	int i, bad = 0;
	struct stat st;
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
			bad |= run_file(argv[i]);
		else
			bad |= run_dir(argv[i]);
	}
	printf("%lu inputs ran\n", ran);
	return bad || ran == 0;
}
