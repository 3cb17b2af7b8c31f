/*
 * serve_note.c - handoff serve's log lines on stderr, each prefixed
 * "handoff serve: " and written whole (one fprintf under stdio's lock).
 */
#include "serve.h"

#include <stdarg.h>
#include <stdio.h>

void serve_note(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "handoff serve: %s\n", line);
}
