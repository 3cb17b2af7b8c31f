/*
 * bench_floor.c - the floor for the handoff benchmarks: the least work that
 * makes the same two HTTP requests as one triage run (the router's request,
 * then the chosen agent's), with libcurl and cJSON only. It POSTs two fixed
 * bodies to {base}/chat/completions, checks each reply as any client must
 * (HTTP 200, JSON, a tool call in the first, a text answer in the second)
 * and prints one JSON line of figures. No handoff code runs here.
 *
 *   bench_floor --base-url http://127.0.0.1:PORT/v1 [--mode once|seq|conc]
 *               [--n N] [--concurrency K] [--warmup W]
 *               [--body1 FILE --body2 FILE] [--user-agent UA]
 *
 * seq: one easy handle reused (one kept-alive connection). conc: curl multi,
 * K runs in flight on K reused easy handles, each run's second request sent
 * when its first completes. See docs/bench-peers.md.
 */
#include <handoff.h> /* HF_VERSION_STRING, for the default User-Agent */

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "bench_line.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The triage example's two requests as handoff sends them for the default
 * graph (input "Hola, ¿cómo estás?"), for standalone use. The harness
 * passes the bodies it captured from the mock's request log instead. */
static const char default_body1[] =
	"{\"messages\":[{\"content\":\"# System context\\nYou are one agent "
	"in a multi-agent system in which agents can pass a conversation "
	"to each other. Passing it on is called a handoff; you do it by "
	"calling the matching function, named transfer_to_<agent_name>. "
	"Handoffs happen in the background: do not mention or draw attention "
	"to them, or to the other agents, in what you say to the user.\\n\\nYou "
	"are the triage agent of a bilingual assistant. You never answer "
	"the\\nuser yourself. Your only job is to choose the agent that "
	"should answer and\\nhand the conversation to it.\\n\\nDecide by "
	"the language of the user's latest message:\\n- Written in Spanish: "
	"hand off to the Spanish agent.\\n- Written in English: hand off "
	"to the English agent.\\n- Mixed languages: choose the language "
	"most of the message is written in.\\n- Another language, or no "
	"clear language (a greeting such as \\\"ok\\\", an\\n  emoji, a "
	"number, a code snippet): hand off to the English agent.\\n\\nJudge "
	"the language of the message, not its topic: \\\"¿Cómo se dice 'hello'\\nen "
	"inglés?\\\" is Spanish; \\\"What does 'gracias' mean?\\\" is English. "
	"If the user\\nexplicitly asks for a language (\\\"answer in Spanish,"
	" please\\\"), follow that\\nrequest.\\n\",\"role\":\"system\"},"
	"{\"role\":\"user\",\"content\":\"Hola, ¿cómo estás?\"}],\"model\":\"gpt-4o-min"
	"i\",\"parallel_tool_calls\":false,\"temperature\":0.0,\"tool_choice\":\"requir"
	"ed\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"transfer_to_sp"
	"anish_agent\",\"description\":\"Handoff to the Spanish agent agent "
	"to handle the request. Answers users who write in Spanish, in Spanish.\","
	"\"parameters\":{\"additionalProperties\":false,\"type\":\"object\","
	"\"properties\":{},\"required\":[]},\"strict\":true}},{\"type\":\"function\","
	"\"function\":{\"name\":\"transfer_to_english_agent\",\"description\":\"Handoff"
	" to the English agent agent to handle the request. Answers users "
	"who write in English (or in any language other than Spanish), in "
	"English.\",\"parameters\":{\"additionalProperties\":false,\"type\":\"object\","
	"\"properties\":{},\"required\":[]},\"strict\":true}}]}";
static const char default_body2[] =
	"{\"messages\":[{\"content\":\"# System context\\nYou are one agent "
	"in a multi-agent system in which agents can pass a conversation "
	"to each other. Passing it on is called a handoff; you do it by "
	"calling the matching function, named transfer_to_<agent_name>. "
	"Handoffs happen in the background: do not mention or draw attention "
	"to them, or to the other agents, in what you say to the user.\\n\\nYou "
	"are a helpful, friendly assistant who answers only in Spanish.\\n\\n- "
	"Answer the user's question directly and accurately, in clear, natural\\n "
	" Spanish. Keep answers short unless the user asks for detail.\\n- "
	"Use the conversation so far: earlier messages may have been answered "
	"by\\n  another agent, and the user expects you to remember them.\\n- "
	"If you do not know something, say so plainly instead of guessing.\\n- "
	"If the user's latest message is written in another language, or "
	"the user\\n  asks to continue in another language, do not answer "
	"it: hand the\\n  conversation back to the Triage agent so it can "
	"route it.\\n\",\"role\":\"system\"},{\"role\":\"user\",\"content\":\"Hola,"
	" ¿cómo estás?\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"i"
	"d\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"transfer_to_span"
	"ish_agent\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"cal"
	"l_1\",\"content\":\"{\\\"assistant\\\": \\\"Spanish agent\\\"}\"}],"
	"\"model\":\"gpt-4o-mini\",\"temperature\":0.3,\"tools\":[{\"type\":\"function"
	"\",\"function\":{\"name\":\"transfer_to_triage_agent\",\"description\":\"Hando"
	"ff to the Triage agent agent to handle the request. Routes the "
	"conversation to the agent for the user's language.\",\"parameters\":{\"additio"
	"nalProperties\":false,\"type\":\"object\",\"properties\":{},\"required\":[]},"
	"\"strict\":true}}]}";

typedef struct text {
	char *p;
	size_t len, cap;
} text;

typedef struct options {
	const char *base_url, *mode, *ua;
	text body1, body2;
	bool stream; /* the bodies ask for SSE replies ("stream": true) */
	long n, concurrency, warmup;
} options;

/* One run in flight: its handle, reply buffer, which request, start time. */
typedef struct slot {
	CURL *easy;
	text reply;
	text answer; /* the text of the last step-2 reply */
	int step; /* 1: the router's request, 2: the agent's */
	double t0;
} slot;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_floor: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void usage(const char *msg, const char *arg)
{
	if (msg)
		fprintf(stderr, "bench_floor: %s%s\n", msg, arg ? arg : "");
	fprintf(stderr,
	        "usage: bench_floor --base-url URL [--mode once|seq|conc] [--n N]\n"
	        "       [--concurrency K] [--warmup W] [--body1 FILE --body2 FILE]\n"
	        "       [--user-agent UA]\n");
	exit(2);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void text_add(text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *q = realloc(t->p, cap);
		if (!q)
			die("out of memory");
		t->p = q;
		t->cap = cap;
	}
	memcpy(t->p + t->len, p, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static text read_file(const char *path)
{
	text t = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s: %s", path, strerror(errno));
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		text_add(&t, chunk, n);
	if (ferror(f))
		die("cannot read %s: %s", path, strerror(errno));
	fclose(f);
	if (!t.len)
		die("%s is empty", path);
	return t;
}

static long whole(const char *opt, const char *v, long min)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || *end || end == v || x < min)
		usage("not a valid count for ", opt);
	return x;
}

static options parse_args(int argc, char **argv)
{
	options o = { .mode = "once", .ua = "handoff/" HF_VERSION_STRING, .n = 1,
	              .concurrency = 50 };
	const char *b1 = NULL, *b2 = NULL;
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];
		if (!strcmp(k, "--help") || !strcmp(k, "-h"))
			usage(NULL, NULL);
		if (i + 1 >= argc)
			usage("a value is needed after ", k);
		const char *v = argv[++i];
		if (!strcmp(k, "--base-url"))
			o.base_url = v;
		else if (!strcmp(k, "--mode"))
			o.mode = v;
		else if (!strcmp(k, "--user-agent"))
			o.ua = v;
		else if (!strcmp(k, "--body1"))
			b1 = v;
		else if (!strcmp(k, "--body2"))
			b2 = v;
		else if (!strcmp(k, "--n"))
			o.n = whole(k, v, 1);
		else if (!strcmp(k, "--concurrency"))
			o.concurrency = whole(k, v, 1);
		else if (!strcmp(k, "--warmup"))
			o.warmup = whole(k, v, 0);
		else
			usage("unknown option ", k);
	}
	if (!o.base_url)
		usage("--base-url is required (the endpoint, e.g. http://127.0.0.1:PORT/v1)", NULL);
	if (strcmp(o.mode, "once") && strcmp(o.mode, "seq") && strcmp(o.mode, "conc"))
		usage("--mode must be once, seq or conc, not ", o.mode);
	if (!strcmp(o.mode, "once"))
		o.n = 1;
	if (!b1 != !b2)
		usage("--body1 and --body2 go together", NULL);
	if (b1) {
		o.body1 = read_file(b1);
		o.body2 = read_file(b2);
	} else {
		text_add(&o.body1, default_body1, sizeof default_body1 - 1);
		text_add(&o.body2, default_body2, sizeof default_body2 - 1);
	}
	cJSON *b1json = cJSON_ParseWithLength(o.body1.p, o.body1.len);
	if (!b1json)
		usage("the first request body is not JSON", NULL);
	o.stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b1json, "stream"));
	cJSON_Delete(b1json);
	if (o.concurrency > o.n)
		o.concurrency = o.n;
	return o;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	text_add(ud, p, size * n);
	return size * n;
}

static void slot_init(slot *s, const options *o, const char *url, struct curl_slist *headers)
{
	s->easy = curl_easy_init();
	if (!s->easy)
		die("curl_easy_init failed");
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT, o->ua);
	curl_easy_setopt(s->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, &s->reply);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
}

/* Point the slot's handle at the body of request s->step. */
static void slot_request(slot *s, const options *o)
{
	const text *b = s->step == 1 ? &o->body1 : &o->body2;
	s->reply.len = 0;
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, b->p);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)b->len);
}

/* The message object of a reply (choices[0].message) or of a stream chunk
 * (choices[0].delta) in root, or NULL. */
static const cJSON *first_choice(const cJSON *root, const char *key)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), key);
}

/* What a message or delta carries for request `step`: the name of its first
 * tool call (step 1), or its text, added to s->answer (step 2). True when
 * there was one. */
static bool take(slot *s, const cJSON *msg)
{
	if (s->step == 1) {
		const cJSON *call = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"), 0);
		return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(call, "function"), "name"));
	}
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (cJSON_IsString(content))
		text_add(&s->answer, content->valuestring, strlen(content->valuestring));
	return cJSON_IsString(content);
}

/* A streamed reply: every `data:` line up to `data: [DONE]` is one chunk. */
static bool take_stream(slot *s)
{
	bool found = false;
	for (char *line = s->reply.p, *end; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (strncmp(line, "data:", 5))
			continue;
		const char *data = line + 5 + (line[5] == ' ');
		size_t len = (end ? (size_t)(end - data) : strlen(data));
		if (len && data[len - 1] == '\r')
			len--;
		if (len == 6 && !memcmp(data, "[DONE]", 6))
			return found;
		cJSON *chunk = cJSON_ParseWithLength(data, len);
		found |= take(s, first_choice(chunk, "delta"));
		cJSON_Delete(chunk);
	}
	die("the stream ended without [DONE]: %.300s", s->reply.p);
}

/* Check the reply to request s->step: HTTP 200, then JSON (or SSE chunks
 * when streaming) with a tool call (step 1) or text (step 2, kept in
 * s->answer). Exits on a bad reply. */
static void slot_check(slot *s, CURLcode rc, bool stream)
{
	long status = 0;
	if (rc != CURLE_OK)
		die("request failed: %s", curl_easy_strerror(rc));
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		die("HTTP %ld: %.300s", status, s->reply.len ? s->reply.p : "");
	if (!s->reply.len)
		die("reply %d is empty", s->step);
	s->answer.len = 0;
	bool found;
	if (stream) {
		found = take_stream(s);
	} else {
		cJSON *root = cJSON_ParseWithLength(s->reply.p, s->reply.len);
		found = take(s, first_choice(root, "message"));
		cJSON_Delete(root);
	}
	if (!found)
		die("reply %d has no %s: %.300s", s->step, s->step == 1 ? "tool call" : "text",
		    s->reply.p);
}

/* n runs one after another on slot s; latencies (ms) into lat when set. */
static void run_seq(slot *s, const options *o, long n, double *lat)
{
	for (long i = 0; i < n; i++) {
		s->t0 = now_ms();
		for (s->step = 1; s->step <= 2; s->step++) {
			slot_request(s, o);
			slot_check(s, curl_easy_perform(s->easy), o->stream);
		}
		if (lat)
			lat[i] = now_ms() - s->t0;
	}
}

/* n runs, k in flight, on the multi handle m with slots[0..k). Returns
 * the slot that finished last. */
static slot *run_conc(CURLM *m, slot *slots, long k, const options *o, long n, double *lat)
{
	slot *last = slots;
	long started = 0, done = 0;
	for (; started < k && started < n; started++) {
		slots[started].step = 1;
		slots[started].t0 = now_ms();
		slot_request(&slots[started], o);
		curl_multi_add_handle(m, slots[started].easy);
	}
	while (done < n) {
		int running, left;
		CURLMcode mc = curl_multi_perform(m, &running);
		if (mc != CURLM_OK)
			die("curl_multi_perform: %s", curl_multi_strerror(mc));
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			slot *s;
			CURLcode rc = msg->data.result;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			curl_multi_remove_handle(m, s->easy);
			slot_check(s, rc, o->stream);
			if (s->step == 1) {
				s->step = 2;
			} else {
				if (lat)
					lat[done] = now_ms() - s->t0;
				last = s;
				if (++done >= n || started >= n)
					continue;
				started++;
				s->step = 1;
				s->t0 = now_ms();
			}
			slot_request(s, o);
			curl_multi_add_handle(m, s->easy);
		}
		if (done < n && (mc = curl_multi_poll(m, NULL, 0, 1000, NULL)) != CURLM_OK)
			die("curl_multi_poll: %s", curl_multi_strerror(mc));
	}
	return last;
}

int main(int argc, char **argv)
{
	options o = parse_args(argc, argv);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	text url = { 0 };
	text_add(&url, o.base_url, strlen(o.base_url));
	text_add(&url, "/chat/completions", strlen("/chat/completions"));
	/* The request headers handoff sends (src/call.c). */
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	headers = curl_slist_append(headers, o.stream ? "Accept: text/event-stream"
	                                               : "Accept: application/json");
	headers = curl_slist_append(headers, "Authorization: Bearer dummy");
	headers = curl_slist_append(headers, "Expect:");
	bool conc = !strcmp(o.mode, "conc");
	long nslots = conc ? o.concurrency : 1;
	slot *slots = calloc(nslots, sizeof *slots);
	double *lat = malloc(o.n * sizeof *lat);
	if (!slots || !lat)
		die("out of memory");
	for (long i = 0; i < nslots; i++)
		slot_init(&slots[i], &o, url.p, headers);
	CURLM *m = conc ? curl_multi_init() : NULL;
	slot *last = slots;

	if (conc)
		run_conc(m, slots, nslots, &o, o.warmup, NULL);
	else
		run_seq(slots, &o, o.warmup, NULL);
	double t0 = now_ms(), cpu0 = bench_cpu_ms();
	if (conc)
		last = run_conc(m, slots, nslots, &o, o.n, lat);
	else
		run_seq(slots, &o, o.n, lat);
	double wall = now_ms() - t0, cpu = bench_cpu_ms() - cpu0;
	cJSON *out = bench_line_new("floor", o.mode, o.stream, o.n, nslots, wall, cpu, lat);
	if (!out)
		die("out of memory");
	cJSON_AddStringToObject(out, "final_output", last->answer.p);
	cJSON_AddNullToObject(out, "last_agent");
	char *line = cJSON_PrintUnformatted(out);
	if (!line)
		die("out of memory");
	puts(line);

	free(line);
	cJSON_Delete(out);
	for (long i = 0; i < nslots; i++) {
		if (conc)
			curl_multi_remove_handle(m, slots[i].easy);
		curl_easy_cleanup(slots[i].easy);
		free(slots[i].reply.p);
		free(slots[i].answer.p);
	}
	if (m)
		curl_multi_cleanup(m);
	curl_slist_free_all(headers);
	free(slots);
	free(lat);
	free(url.p);
	free(o.body1.p);
	free(o.body2.p);
	curl_global_cleanup();
	return 0;
}
