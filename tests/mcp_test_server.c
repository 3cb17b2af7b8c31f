/*
 * mcp_test_server.c - a small MCP server over stdio for the tests and the
 * benchmark (newline-delimited JSON-RPC; cJSON). It answers initialize,
 * ping, tools/list and tools/call, and can misbehave on request.
 *
 * Tools: echo {text} (the text back), slow {ms, text} (answers after ms),
 * fail (an isError result), image (an image block of 3 bytes), structured
 * (structuredContent only), resource (a resource link and an embedded
 * resource), env (its environment, one NAME=VALUE a line), cwd (its working
 * directory), pid (its process id), ping_me (asks the client ping first and
 * answers once the pong came).
 *
 * Modes (argv):
 *   --exit-on-call      exit with status 3 on a tools/call whose text is "crash"
 *   --never-answer      never answer tools/call (ping still answered)
 *   --garbage           a non-JSON line before each tools/call answer
 *   --bad-answer        answer tools/call with a result that is not an object
 *   --long-line=BYTES   answer tools/call with a line of BYTES bytes
 *   --big-result        answer tools/call with a 10 MB text
 *   --unknown-id        an answer to id 987654321 before each answer
 *   --notify-first      a notification before the initialize result
 *   --reverse=N         hold tools/call answers until N are pending, then
 *                       answer them last first
 *   --list-changed      after the first tools/call answer: a tool `added`
 *                       appears and notifications/tools/list_changed is sent
 *   --paginate          tools/list in pages of 2 tools with nextCursor
 *   --version=V         answer initialize with protocolVersion V
 *   --fail-start        write "no configuration found" on stderr, exit 1
 *   --exit-after-init   exit with status 4 right after tools/list
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static bool exit_on_call, never_answer, garbage, bad_answer, big_result, unknown_id;
static bool notify_first, list_changed, paginate, exit_after_init, added;
static long long_line;
static int reverse;
static const char *version = "2025-11-25";

/* answers waiting: slow ones (due) or held for --reverse */
typedef struct held {
	char *text;
	long long due; /* 0: held for --reverse */
} held;
static held pending[4096];
static int npending;

static char *ping_me_answer; /* sent once the pong arrives */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *outbuf;
static size_t outlen, outcap;

static void out(const char *s, size_t n)
{
	if (outlen + n + 1 > outcap) {
		outcap = (outlen + n + 1) * 2;
		outbuf = realloc(outbuf, outcap);
		if (!outbuf)
			exit(70);
	}
	memcpy(outbuf + outlen, s, n);
	outlen += n;
	outbuf[outlen++] = '\n';
}

static void flush(void)
{
	size_t off = 0;
	while (off < outlen) {
		ssize_t n = write(1, outbuf + off, outlen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(0);
		off += (size_t)n;
	}
	outlen = 0;
}

static void send_json(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	out(s, strlen(s));
	free(s);
	cJSON_Delete(o);
}

static cJSON *response(const cJSON *id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, true));
	return o;
}

static void add_tool(cJSON *arr, const char *name, const char *desc)
{
	cJSON *t = cJSON_CreateObject(), *schema;
	cJSON_AddStringToObject(t, "name", name);
	cJSON_AddStringToObject(t, "description", desc);
	schema = cJSON_AddObjectToObject(t, "inputSchema");
	cJSON_AddStringToObject(schema, "type", "object");
	cJSON_AddItemToArray(arr, t);
}

static const char *const tool_names[] = { "echo", "slow", "fail", "image", "structured",
	                                      "resource", "env", "cwd", "pid", "ping_me", "added" };

static void tools_list(const cJSON *id, const cJSON *params)
{
	cJSON *o = response(id), *r = cJSON_AddObjectToObject(o, "result");
	cJSON *arr = cJSON_AddArrayToObject(r, "tools");
	const cJSON *cur = cJSON_GetObjectItem(params, "cursor");
	int n = added ? 11 : 10, from = 0, to = n;
	if (paginate) {
		from = cJSON_IsString(cur) ? atoi(cur->valuestring) : 0;
		to = from + 2 < n ? from + 2 : n;
		if (to < n) {
			char next[16];
			snprintf(next, sizeof(next), "%d", to);
			cJSON_AddStringToObject(r, "nextCursor", next);
		}
	}
	for (int i = from; i < to; i++)
		add_tool(arr, tool_names[i], "a test tool");
	send_json(o);
}

static cJSON *text_result(const cJSON *id, const char *text, bool is_error)
{
	cJSON *o = response(id), *r = cJSON_AddObjectToObject(o, "result");
	cJSON *c = cJSON_AddArrayToObject(r, "content"), *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "text");
	cJSON_AddStringToObject(b, "text", text);
	cJSON_AddItemToArray(c, b);
	if (is_error)
		cJSON_AddTrueToObject(r, "isError");
	return o;
}

static void hold(cJSON *o, long long due)
{
	if (npending == (int)(sizeof(pending) / sizeof(pending[0])))
		exit(71);
	pending[npending].text = cJSON_PrintUnformatted(o);
	pending[npending++].due = due;
	cJSON_Delete(o);
}

static void answer_call(cJSON *o)
{
	if (garbage)
		out("this is not JSON {", 18);
	if (unknown_id) {
		const char *u = "{\"jsonrpc\":\"2.0\",\"id\":987654321,\"result\":{\"content\":[]}}";
		out(u, strlen(u));
	}
	if (reverse) {
		hold(o, 0);
		int held_n = 0;
		for (int i = 0; i < npending; i++)
			held_n += pending[i].due == 0;
		if (held_n >= reverse)
			for (int i = npending - 1; i >= 0; i--)
				if (pending[i].due == 0) {
					out(pending[i].text, strlen(pending[i].text));
					free(pending[i].text);
					pending[i] = pending[--npending];
				}
		return;
	}
	send_json(o);
	if (list_changed && !added) {
		added = true;
		const char *lc = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}";
		out(lc, strlen(lc));
	}
}

static void tools_call(const cJSON *id, const cJSON *params)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(params, "name"));
	const cJSON *args = cJSON_GetObjectItem(params, "arguments");
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(args, "text"));
	cJSON *o, *r, *c, *b;
	if (exit_on_call && text && strcmp(text, "crash") == 0) {
		fprintf(stderr, "crashing on purpose\n");
		exit(3);
	}
	if (never_answer)
		return;
	if (bad_answer) {
		o = response(id);
		cJSON_AddStringToObject(o, "result", "oops");
		answer_call(o);
		return;
	}
	if (long_line > 0 || big_result) {
		size_t n = big_result ? 10u << 20 : (size_t)long_line;
		char *big = malloc(n + 1);
		memset(big, 'x', n);
		big[n] = '\0';
		answer_call(text_result(id, big, false));
		free(big);
		return;
	}
	if (!name)
		name = "";
	if (strcmp(name, "echo") == 0) {
		answer_call(text_result(id, text ? text : "", false));
	} else if (strcmp(name, "slow") == 0) {
		double ms = cJSON_GetNumberValue(cJSON_GetObjectItem(args, "ms"));
		hold(text_result(id, text ? text : "slow", false), now_ms() + (long long)ms + 1);
	} else if (strcmp(name, "fail") == 0) {
		answer_call(text_result(id, "the tool failed on purpose", true));
	} else if (strcmp(name, "image") == 0) {
		o = response(id);
		r = cJSON_AddObjectToObject(o, "result");
		c = cJSON_AddArrayToObject(r, "content");
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "image");
		cJSON_AddStringToObject(b, "mimeType", "image/png");
		cJSON_AddStringToObject(b, "data", "iVBO");
		cJSON_AddItemToArray(c, b);
		answer_call(o);
	} else if (strcmp(name, "structured") == 0) {
		o = response(id);
		r = cJSON_AddObjectToObject(o, "result");
		cJSON_AddArrayToObject(r, "content");
		b = cJSON_AddObjectToObject(r, "structuredContent");
		cJSON_AddNumberToObject(b, "temperature", 21.5);
		cJSON_AddStringToObject(b, "unit", "C");
		answer_call(o);
	} else if (strcmp(name, "resource") == 0) {
		o = response(id);
		r = cJSON_AddObjectToObject(o, "result");
		c = cJSON_AddArrayToObject(r, "content");
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "resource_link");
		cJSON_AddStringToObject(b, "uri", "file:///tmp/a.txt");
		cJSON_AddItemToArray(c, b);
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "resource");
		cJSON *res = cJSON_AddObjectToObject(b, "resource");
		cJSON_AddStringToObject(res, "uri", "file:///tmp/b.txt");
		cJSON_AddStringToObject(res, "text", "inside b");
		cJSON_AddItemToArray(c, b);
		answer_call(o);
	} else if (strcmp(name, "env") == 0 || strcmp(name, "cwd") == 0 ||
	           strcmp(name, "pid") == 0) {
		char buf[65536] = "";
		size_t len = 0;
		if (strcmp(name, "env") == 0) {
			for (char **e = environ; *e; e++)
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "\n" : "",
				                        *e);
		} else if (strcmp(name, "cwd") == 0) {
			if (!getcwd(buf, sizeof(buf)))
				strcpy(buf, "?");
		} else {
			snprintf(buf, sizeof(buf), "%ld", (long)getpid());
		}
		answer_call(text_result(id, buf, false));
	} else if (strcmp(name, "ping_me") == 0) {
		const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"method\":\"ping\"}";
		cJSON *a = text_result(id, "pong received", false);
		ping_me_answer = cJSON_PrintUnformatted(a);
		cJSON_Delete(a);
		out(ping, strlen(ping));
	} else if (strcmp(name, "added") == 0 && added) {
		answer_call(text_result(id, "the added tool", false));
	} else {
		o = response(id);
		b = cJSON_AddObjectToObject(o, "error");
		cJSON_AddNumberToObject(b, "code", -32602);
		cJSON_AddStringToObject(b, "message", "Unknown tool");
		send_json(o);
	}
}

static void handle(const char *line, size_t len)
{
	cJSON *m = cJSON_ParseWithLength(line, len);
	const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(m, "method"));
	const cJSON *id = cJSON_GetObjectItem(m, "id"), *params = cJSON_GetObjectItem(m, "params");
	if (!m)
		exit(65);
	if (!method) { /* an answer: the pong */
		if (ping_me_answer && cJSON_IsString(id) && strcmp(id->valuestring, "srv-1") == 0 &&
		    cJSON_GetObjectItem(m, "result")) {
			out(ping_me_answer, strlen(ping_me_answer));
			free(ping_me_answer);
			ping_me_answer = NULL;
		}
	} else if (strcmp(method, "initialize") == 0) {
		cJSON *o = response(id), *r = cJSON_AddObjectToObject(o, "result"), *info;
		if (notify_first) {
			const char *nf = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
			                 "\"params\":{\"level\":\"info\",\"data\":\"starting up\"}}";
			out(nf, strlen(nf));
		}
		cJSON_AddStringToObject(r, "protocolVersion", version);
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "capabilities"), "tools");
		info = cJSON_AddObjectToObject(r, "serverInfo");
		cJSON_AddStringToObject(info, "name", "mcp_test_server");
		cJSON_AddStringToObject(info, "version", "1");
		send_json(o);
	} else if (strcmp(method, "ping") == 0) {
		cJSON *o = response(id);
		cJSON_AddObjectToObject(o, "result");
		send_json(o);
	} else if (strcmp(method, "tools/list") == 0) {
		tools_list(id, params);
		if (exit_after_init && !cJSON_GetObjectItem(params, "cursor")) {
			flush();
			exit(4);
		}
	} else if (strcmp(method, "tools/call") == 0) {
		tools_call(id, params);
	} else if (id) {
		cJSON *o = response(id), *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddNumberToObject(e, "code", -32601);
		cJSON_AddStringToObject(e, "message", "Method not found");
		send_json(o);
	} else if (strcmp(method, "notifications/cancelled") == 0) {
		fprintf(stderr, "cancelled %s\n",
		        cJSON_PrintUnformatted(cJSON_GetObjectItem(params, "requestId")));
	}
	cJSON_Delete(m);
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	size_t have = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--exit-on-call") == 0) exit_on_call = true;
		else if (strcmp(a, "--never-answer") == 0) never_answer = true;
		else if (strcmp(a, "--garbage") == 0) garbage = true;
		else if (strcmp(a, "--bad-answer") == 0) bad_answer = true;
		else if (strncmp(a, "--long-line=", 12) == 0) long_line = atol(a + 12);
		else if (strcmp(a, "--big-result") == 0) big_result = true;
		else if (strcmp(a, "--unknown-id") == 0) unknown_id = true;
		else if (strcmp(a, "--notify-first") == 0) notify_first = true;
		else if (strncmp(a, "--reverse=", 10) == 0) reverse = atoi(a + 10);
		else if (strcmp(a, "--list-changed") == 0) list_changed = true;
		else if (strcmp(a, "--paginate") == 0) paginate = true;
		else if (strncmp(a, "--version=", 10) == 0) version = a + 10;
		else if (strcmp(a, "--exit-after-init") == 0) exit_after_init = true;
		else if (strcmp(a, "--fail-start") == 0) {
			fprintf(stderr, "starting\nno configuration found\n");
			return 1;
		} else {
			fprintf(stderr, "mcp_test_server: unknown option %s\n", a);
			return 2;
		}
	}
	fprintf(stderr, "mcp_test_server ready\n");
	for (;;) {
		struct pollfd p = { 0, POLLIN, 0 };
		int wait = -1;
		long long now = now_ms();
		for (int i = 0; i < npending; i++)
			if (pending[i].due) {
				int w = pending[i].due > now ? (int)(pending[i].due - now) : 0;
				if (wait < 0 || w < wait)
					wait = w;
			}
		int r = poll(&p, 1, wait);
		now = now_ms();
		for (int i = 0; i < npending; i++)
			if (pending[i].due && pending[i].due <= now) {
				out(pending[i].text, strlen(pending[i].text));
				free(pending[i].text);
				pending[i--] = pending[--npending];
			}
		if (r > 0) {
			ssize_t n = read(0, buf + have, sizeof(buf) - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* stdin closed: stop */
			have += (size_t)n;
			size_t start = 0;
			char *nl;
			while ((nl = memchr(buf + start, '\n', have - start))) {
				size_t len = (size_t)(nl - (buf + start));
				if (len)
					handle(buf + start, len);
				start += len + 1;
			}
			memmove(buf, buf + start, have - start);
			have -= start;
			if (have == sizeof(buf))
				exit(66);
		}
		flush();
	}
	flush();
	return 0;
}
