/*
 * bench_client.c - what the model client costs per request: N sequential
 * non-streaming chat requests through hf_call (a call object, the attempt
 * set-up on a reused easy handle, the transfer with its callbacks, the body
 * kept) against a bare libcurl loop sending the same URL, body and headers
 * on a reused handle and keeping the reply, nothing more. A third run also
 * parses each reply (hf_call_reply: JSON, UTF-8 and shape checks), the work
 * a real client adds on top of the transport. Both talk to the in-process
 * mock on 127.0.0.1 (one server thread). The two alternate in blocks of 50
 * requests, so load from elsewhere on the machine falls on both alike; each
 * round sends N requests of each kind, and the round with the lowest total
 * counts for each (the least disturbed one).
 *
 *   bench_client [REQUESTS [ROUNDS]]      (default 2000 requests, 5 rounds)
 *
 * Prints one line, totals of the best rounds in microseconds:
 *   client_overhead requests=N rounds=R handoff_us=T bare_us=T ratio=X
 *                   parsed_us=T parsed_ratio=X
 * Target: ratio <= 1.10.
 */
#include "call.h"
#include "mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY \
	"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello, how " \
	"are you?\"}]}"
#define KEY "sk-bench-0000000000000000"
#define WARMUP 200
#define BLOCK 50

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what, const hf_error *err)
{
	fprintf(stderr, "bench_client: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

/* ---- through handoff ---- */

static void handoff_one(const hf_endpoint *ep, CURL *easy, bool parse)
{
	hf_call_spec spec = { .method = "POST", .path = "/chat/completions", .body = BODY };
	hf_reply reply;
	hf_call *c;
	hf_error err;
	size_t len;
	if (hf_call_new(&c, ep, &spec, &err) || hf_call_perform(c, easy, &err))
		die("handoff request", &err);
	if (!parse) {
		hf_call_body(c, &len);
		if (!len)
			die("handoff reply is empty", NULL);
	} else if (hf_call_reply(c, &reply, &err)) {
		die("handoff reply", &err);
	} else {
		if (!reply.content)
			die("handoff reply has no text", NULL);
		hf_chat_reply_dispose(&reply);
	}
	hf_call_free(c);
}

static double run_handoff(const hf_endpoint *ep, CURL *easy, int n, bool parse)
{
	double t0 = now_us();
	int i;
	for (i = 0; i < n; i++)
		handoff_one(ep, easy, parse);
	return now_us() - t0;
}

/* ---- bare libcurl ---- */

typedef struct bare {
	CURL *easy;
	struct curl_slist *headers;
	char *buf;
	size_t len, cap;
} bare;

static size_t bare_write(char *p, size_t size, size_t n, void *ud)
{
	bare *b = ud;
	size_t len = size * n;
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->buf = realloc(b->buf, b->cap);
		if (!b->buf)
			return 0;
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	return len;
}

static void bare_init(bare *b, const char *url)
{
	memset(b, 0, sizeof(*b));
	b->easy = curl_easy_init();
	b->headers = curl_slist_append(b->headers, "Content-Type: application/json");
	b->headers = curl_slist_append(b->headers, "Accept: application/json");
	b->headers = curl_slist_append(b->headers, "Authorization: Bearer " KEY);
	b->headers = curl_slist_append(b->headers, "Expect:");
	curl_easy_setopt(b->easy, CURLOPT_URL, url);
	curl_easy_setopt(b->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(b->easy, CURLOPT_HTTPHEADER, b->headers);
	curl_easy_setopt(b->easy, CURLOPT_USERAGENT, "handoff/" HF_VERSION_STRING);
	curl_easy_setopt(b->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(b->easy, CURLOPT_POSTFIELDS, BODY);
	curl_easy_setopt(b->easy, CURLOPT_WRITEFUNCTION, bare_write);
	curl_easy_setopt(b->easy, CURLOPT_WRITEDATA, b);
}

static double run_bare(bare *b, int n)
{
	double t0 = now_us();
	long status;
	int i;
	for (i = 0; i < n; i++) {
		b->len = 0;
		if (curl_easy_perform(b->easy) != CURLE_OK)
			die("bare request", NULL);
		curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200 || !b->len)
			die("bare reply", NULL);
	}
	return now_us() - t0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000, rounds = argc > 2 ? atoi(argv[2]) : 5, r;
	hf_mock_options mo = { 0 };
	hf_client_options co = HF_CLIENT_OPTIONS_INIT;
	double best_h = 0, best_b = 0, best_p = 0;
	hf_endpoint ep;
	hf_mock *mock;
	hf_error err;
	char url[256];
	CURL *easy;
	bare b;

	if (n < 1 || rounds < 1) {
		fprintf(stderr, "usage: bench_client [REQUESTS [ROUNDS]]\n");
		return 2;
	}
	if (hf_global_init(&err))
		die("init", &err);
	mo.threads = 1;
	if (hf_mock_start(&mock, &mo, &err))
		die("mock", &err);
	snprintf(url, sizeof(url), "%s/v1", hf_mock_url(mock));
	co.base_url = url;
	co.api_key = KEY;
	if (hf_endpoint_resolve(&ep, &co, NULL, &err))
		die("endpoint", &err);
	easy = curl_easy_init();
	if (!easy)
		die("easy handle", NULL);
	if (hf_call_easy_prepare(easy, &ep, &err))
		die("easy handle", &err);
	snprintf(url, sizeof(url), "%s/v1/chat/completions", hf_mock_url(mock));
	bare_init(&b, url);

	run_handoff(&ep, easy, WARMUP, true);
	run_bare(&b, WARMUP);
	for (r = 0; r < rounds; r++) {
		double h = 0, bt = 0, p = 0;
		int done, k;
		for (done = 0; done < n; done += k) {
			k = n - done < BLOCK ? n - done : BLOCK;
			h += run_handoff(&ep, easy, k, false);
			bt += run_bare(&b, k);
			p += run_handoff(&ep, easy, k, true);
		}
		if (!r || h < best_h)
			best_h = h;
		if (!r || bt < best_b)
			best_b = bt;
		if (!r || p < best_p)
			best_p = p;
	}
	printf("client_overhead requests=%d rounds=%d handoff_us=%.0f bare_us=%.0f ratio=%.3f "
	       "parsed_us=%.0f parsed_ratio=%.3f\n",
	       n, rounds, best_h, best_b, best_h / best_b, best_p, best_p / best_b);

	curl_easy_cleanup(b.easy);
	curl_slist_free_all(b.headers);
	free(b.buf);
	curl_easy_cleanup(easy);
	hf_endpoint_dispose(&ep);
	hf_mock_stop(mock);
	hf_global_cleanup();
	return 0;
}
