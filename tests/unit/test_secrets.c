/*
 * test_secrets.c - the API key never shows (issue 7, secrets): with a
 * sentinel key sk-sentinel-<32 random hex digits>,
 *  - the CLI (run, ask, models, providers, model, sessions; -v where it
 *    exists) against the mock that requires that key: every stdout and
 *    stderr, the mock's request log, the session database and every other
 *    file the runs left hold no trace of it;
 *  - the library with logging at HF_LOG_TRACE (wire traffic): turns, a
 *    single completion and discovery against the mock, then a server that
 *    echoes the key back at every offset of its error bodies (JSON error,
 *    plain text, an error event mid-stream) and in a header: no log line
 *    and no error message holds the key or 10 of its random digits in a row;
 *  - a key file works with mode 0600 and is refused with 0644;
 *  - TLS certificates are verified unless --insecure, which warns.
 */
#define _GNU_SOURCE /* memmem */
#include "support.h"

#include "internal.h"
#include "mock.h"
#include "redact.h"

#include <dirent.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RANDOM_DIGITS 32
#define RUN_MIN 10 /* this many random digits in a row count as a leak */

static char key[64];      /* sk-sentinel-<hex> */
static const char *digits; /* the random part of key */

static void make_key(void)
{
	unsigned char r[RANDOM_DIGITS / 2];
	size_t i;
	assert_int_equal(getrandom(r, sizeof(r), 0), (ssize_t)sizeof(r));
	strcpy(key, "sk-sentinel-");
	digits = key + strlen(key);
	for (i = 0; i < sizeof(r); i++)
		sprintf(key + strlen(key), "%02x", r[i]);
}

/* Where in text[0..len) the key, or RUN_MIN of its random digits in a row,
 * appear; NULL when nowhere. */
static const char *leak_in(const char *text, size_t len)
{
	size_t i;
	const char *hit = memmem(text, len, key, strlen(key));
	for (i = 0; !hit && i + RUN_MIN <= RANDOM_DIGITS; i++)
		hit = memmem(text, len, digits + i, RUN_MIN);
	return hit;
}

static void assert_clean(const char *what, const char *text, size_t len)
{
	const char *hit = text ? leak_in(text, len) : NULL;
	if (hit) {
		size_t at = (size_t)(hit - text), from = at > 60 ? at - 60 : 0;
		fail_msg("the key leaked in %s at byte %zu: ...%.*s...", what, at,
		         (int)(len - from < 140 ? len - from : 140), text + from);
	}
}

/* ---- the CLI ---- */

typedef struct cli_fixture {
	hf_mock *mock;
	char *dir;       /* everything the runs write: database, mock log */
	char *db, *log;
	char v1[160], hub[160];
	char env_key[96];
	size_t runs;
} cli_fixture;

/* Run the CLI with the key in the environment; check its output and exit
 * status. */
static void cli(cli_fixture *f, int status, const char *input, const char *const *argv)
{
	const char *env[] = { f->env_key, "NO_COLOR=1", NULL };
	ts_proc p;
	char what[256];
	ts_run_cli(&p, input, env, argv);
	snprintf(what, sizeof(what), "the output of handoff %s %s", argv[0], argv[1]);
	assert_clean(what, p.out, p.out ? strlen(p.out) : 0);
	assert_clean(what, p.err, p.err ? strlen(p.err) : 0);
	if (p.status != status)
		fail_msg("handoff %s %s: exit %d, wanted %d; stderr: %s", argv[0], argv[1], p.status,
		         status, p.err);
	f->runs++;
	ts_proc_dispose(&p);
}

/* Every file under dir, whole, binary included. Returns files checked. */
static size_t assert_dir_clean(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char *path, *text;
		size_t len = 0;
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		path = ts_path(dir, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			n += assert_dir_clean(path);
		} else {
			assert_non_null(text = ts_read(path, &len));
			assert_clean(path, text, len);
			free(text);
			n++;
		}
		free(path);
	}
	closedir(d);
	return n;
}

static void test_cli(void **state)
{
	cli_fixture f = { 0 };
	hf_mock_options mo = { 0 };
	hf_store *held = NULL;
	hf_error err;
	char *log;
	size_t len;
	(void)state;

	make_key();
	f.dir = ts_tmpdir();
	f.db = ts_path(f.dir, "sessions.db");
	f.log = ts_path(f.dir, "mock.log");
	mo.host = "127.0.0.1";
	mo.threads = 1;
	mo.log_path = f.log;
	mo.require_key = key; /* a run that did not send the key fails */
	assert_int_equal(hf_mock_start(&f.mock, &mo, &err), HF_OK);
	snprintf(f.v1, sizeof(f.v1), "%s/v1", hf_mock_url(f.mock));
	snprintf(f.hub, sizeof(f.hub), "%s/compute", hf_mock_url(f.mock));
	snprintf(f.env_key, sizeof(f.env_key), "HANDOFF_API_KEY=%s", key);
	/* an open connection keeps the write-ahead log on disk for the scan */
	assert_int_equal(hf_store_open_sqlite(&held, f.db, &err), HF_OK);

	{
		const char *a1[] = { "run", "-v", "--db", f.db, "--session", "s1", "--base-url", f.v1,
			             HF_SOURCE_DIR "/agents", "Hola, ¿qué tal?", NULL };
		const char *a2[] = { "run", "-v", "--json", "--db", f.db, "--session", "s1",
			             "--base-url", f.v1, HF_SOURCE_DIR "/agents",
			             "Now in English, please", NULL };
		const char *a3[] = { "run", "-v", "--no-stream", "--x-api-key", "--db", f.db,
			             "--session", "s2", "--base-url", f.v1, HF_SOURCE_DIR "/agents", NULL };
		const char *a4[] = { "ask", "-v", "-m", "gpt-4o-mini", "--base-url", f.v1, "Hello", NULL };
		const char *a5[] = { "ask", "-v", "--json", "--no-stream", "-m", "gpt-4o-mini",
			             "--base-url", f.v1, "Hello again", NULL };
		const char *a6[] = { "models", "--base-url", f.hub, NULL };
		const char *a7[] = { "models", "--json", "--base-url", f.v1, NULL };
		const char *a8[] = { "providers", "--base-url", f.hub, NULL };
		const char *a9[] = { "model", "gpt-4o", "--base-url", f.hub, NULL };
		const char *b1[] = { "sessions", "list", "--db", f.db, NULL };
		const char *b2[] = { "sessions", "show", "s1", "--db", f.db, NULL };
		const char *b3[] = { "sessions", "export", "s1", "--format", "markdown", "--db", f.db, NULL };
		const char *b4[] = { "sessions", "list", "--json", "--db", f.db, NULL };
		/* failures: a fault, and a server that is not there */
		const char *c1[] = { "ask", "-v", "-m", "gpt-4o-mini", "--retries", "0", "--header",
			             "X-Mock-Fault: 500", "--base-url", f.v1, "Hello", NULL };
		const char *c2[] = { "run", "-v", "--db", f.db, "--session", "s1", "--retries", "0",
			             "--header", "X-Mock-Fault: 401", "--base-url", f.v1,
			             HF_SOURCE_DIR "/agents", "Hola", NULL };
		const char *c3[] = { "ask", "-m", "m", "--retries", "0", "--base-url",
			             "http://127.0.0.1:9/v1", "Hello", NULL };
		cli(&f, 0, NULL, a1);
		cli(&f, 0, NULL, a2);
		cli(&f, 0, "Buenos días", a3);
		cli(&f, 0, NULL, a4);
		cli(&f, 0, NULL, a5);
		cli(&f, 0, NULL, a6);
		cli(&f, 0, NULL, a7);
		cli(&f, 0, NULL, a8);
		cli(&f, 0, NULL, a9);
		cli(&f, 0, NULL, b1);
		cli(&f, 0, NULL, b2);
		cli(&f, 0, NULL, b3);
		cli(&f, 0, NULL, b4);
		cli(&f, 5, NULL, c1);
		cli(&f, 4, NULL, c2);
		cli(&f, 5, NULL, c3);
	}
	hf_mock_stop(f.mock);

	/* The files were written: the log has every request, with the
	 * credential header masked; then nothing anywhere holds the key. */
	assert_non_null(log = ts_read(f.log, &len));
	assert_true(ts_contains(log, "\"authorization\""));
	assert_true(ts_contains(log, "/chat/completions"));
	free(log);
	assert_true(assert_dir_clean(f.dir) >= 3); /* log, database, its -wal */
	hf_store_free(held);
	print_message("%zu CLI runs, their output and %s clean\n", f.runs, f.dir);
	ts_rmtree(f.dir);
	free(f.dir);
	free(f.db);
	free(f.log);
}

/* ---- the library at HF_LOG_TRACE ---- */

static hf_buf trace;
static size_t trace_lines;

static void on_log(hf_log_level level, const char *message, void *payload)
{
	(void)level;
	(void)payload;
	assert_int_equal(hf_buf_printf(&trace, "%s\n", message), HF_OK);
	trace_lines++;
}

/* An endpoint that echoes the key it was sent: X-Echo-Mode says how
 * (envelope: a JSON error, plain: a text body, stream: an error event after
 * some text), X-Echo-Pad how many bytes come before the first copy. Its
 * body holds 40 copies, so a cut anywhere in it splits one. */
static char *echo_body(const char *mode, long pad, const char *sent)
{
	hf_buf b = HF_BUF_INIT, msg = HF_BUF_INIT;
	int i;
	for (i = 0; i < pad; i++)
		hf_buf_puts(&msg, "p");
	for (i = 0; i < 40; i++)
		hf_buf_printf(&msg, "%s;", sent);
	if (!strcmp(mode, "plain"))
		return hf_buf_detach(&msg);
	if (!strcmp(mode, "stream"))
		hf_buf_puts(&b, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
		                "data: ");
	hf_buf_printf(&b, "{\"error\":{\"message\":\"Incorrect API key provided: %s\","
	              "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
	              msg.data);
	if (!strcmp(mode, "stream"))
		hf_buf_puts(&b, "\n\n");
	hf_buf_dispose(&msg);
	return hf_buf_detach(&b);
}

static enum MHD_Result on_echo(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **req)
{
	static int marker; /* *req: the request's headers were seen */
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *mode = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Echo-Mode");
	const char *pad = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Echo-Pad");
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *body;
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (!*req) {
		*req = &marker;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (auth && !strncmp(auth, "Bearer ", 7))
		auth += 7;
	mode = mode ? mode : "envelope";
	body = echo_body(mode, pad ? atol(pad) : 0, auth ? auth : "(none)");
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "X-Echo", auth ? auth : "");
	MHD_add_response_header(resp, "Content-Type", !strcmp(mode, "stream") ? "text/event-stream"
	                        : !strcmp(mode, "plain") ? "text/plain" : "application/json");
	ret = MHD_queue_response(conn, !strcmp(mode, "stream") ? 200 : !strcmp(mode, "plain") ? 500
	                         : 401, resp);
	MHD_destroy_response(resp);
	return ret;
}

static hf_client *client_for(const char *base, const char *const *headers)
{
	hf_client_options o = HF_CLIENT_OPTIONS_INIT;
	hf_client *c = NULL;
	hf_error err;
	o.base_url = base;
	o.api_key = key;
	o.max_retries = 0;
	o.headers = headers;
	if (hf_client_new(&c, &o, NULL, &err))
		fail_msg("client: %s", err.message);
	return c;
}

static void check_error(const char *what, int rc, const hf_error *err)
{
	assert_int_not_equal(rc, HF_OK);
	assert_clean(what, err->message, strlen(err->message));
}

static void test_library_trace(void **state)
{
	hf_mock_options mo = { 0 };
	hf_mock *mock = NULL;
	struct MHD_Daemon *echo;
	hf_graph *g = NULL;
	hf_session *s = NULL;
	hf_store *st = NULL;
	hf_client *c;
	hf_error err;
	char base[160], hub[160], *dir = ts_tmpdir(), *db = ts_path(dir, "sessions.db"), *out;
	long pad;
	int stream, echoes = 0;
	(void)state;

	make_key();
	hf_log_set(on_log, HF_LOG_TRACE, NULL);
	mo.host = "127.0.0.1";
	mo.threads = 1;
	mo.require_key = key;
	assert_int_equal(hf_mock_start(&mock, &mo, &err), HF_OK);
	snprintf(base, sizeof(base), "%s/v1", hf_mock_url(mock));
	snprintf(hub, sizeof(hub), "%s/compute", hf_mock_url(mock));
	assert_int_equal(hf_graph_load(&g, HF_SOURCE_DIR "/agents", NULL, &err), HF_OK);
	assert_int_equal(hf_store_open_sqlite(&st, db, &err), HF_OK);
	assert_int_equal(hf_session_new(&s, "trace", &err), HF_OK);

	/* turns, streamed and not, a completion and discovery: all succeed */
	c = client_for(base, NULL);
	for (stream = 1; stream >= 0; stream--) {
		hf_run_options ro = HF_RUN_OPTIONS_INIT;
		ro.stream = stream;
		if (hf_run(&out, c, g, s, st, stream ? "Hola" : "Hello there", &ro, &err))
			fail_msg("run: %s", err.message);
		hf_free(out);
	}
	{
		hf_ask_options ao = HF_ASK_OPTIONS_INIT;
		ao.model = "gpt-4o-mini";
		assert_int_equal(hf_ask(&out, NULL, c, "Hi", &ao, &err), HF_OK);
		hf_free(out);
	}
	hf_client_free(c);
	c = client_for(hub, NULL);
	assert_int_equal(hf_hub_models(&out, c, NULL, &err), HF_OK);
	hf_free(out);
	assert_int_equal(hf_hub_model_detail(&out, c, "gpt-4o", NULL, &err), HF_OK);
	hf_free(out);
	hf_client_free(c);

	/* the server echoes the key at every offset: no partial copy either */
	echo = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_echo, NULL,
	                        MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
	assert_non_null(echo);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u/v1",
	         (unsigned)MHD_get_daemon_info(echo, MHD_DAEMON_INFO_BIND_PORT)->port);
	for (pad = 0; pad <= (long)strlen(key) + 1; pad++) {
		static const char *const modes[] = { "envelope", "plain", "stream" };
		size_t m;
		for (m = 0; m < HF_ARRAY_LEN(modes); m++) {
			char h1[64], h2[64];
			const char *headers[] = { h1, h2, NULL };
			hf_ask_options ao = HF_ASK_OPTIONS_INIT;
			hf_run_options ro = HF_RUN_OPTIONS_INIT;
			int rc;
			snprintf(h1, sizeof(h1), "X-Echo-Pad: %ld", pad);
			snprintf(h2, sizeof(h2), "X-Echo-Mode: %s", modes[m]);
			c = client_for(base, headers);
			ao.model = "gpt-4o-mini";
			ao.stream = m == 2;
			rc = hf_ask(&out, NULL, c, "Hi", &ao, &err);
			check_error("an hf_ask error", rc, &err);
			ro.stream = m == 2;
			rc = hf_run(&out, c, g, s, NULL, "Hi", &ro, &err);
			check_error("an hf_run error", rc, &err);
			rc = hf_hub_models(&out, c, NULL, &err);
			check_error("an hf_hub_models error", rc, &err);
			hf_client_free(c);
			echoes += 3;
		}
	}
	MHD_stop_daemon(echo);
	hf_log_set(NULL, HF_LOG_ERROR, NULL);

	/* the trace was on (and masked the header), and it is clean */
	assert_true(ts_contains(trace.data, "Authorization: " HF_REDACTED));
	assert_true(ts_contains(trace.data, "Incorrect API key provided: "));
	assert_clean("the trace", trace.data, trace.len);
	print_message("%zu trace lines (%zu bytes) and %d echoed errors clean\n", trace_lines,
	              trace.len, echoes);
	hf_buf_dispose(&trace);
	hf_session_free(s);
	hf_store_free(st);
	hf_graph_free(g);
	hf_mock_stop(mock);
	assert_true(assert_dir_clean(dir) >= 1);
	ts_rmtree(dir);
	free(dir);
	free(db);
}

/* ---- key files ---- */

static void test_key_file(void **state)
{
	hf_mock_options mo = { 0 };
	hf_mock *mock = NULL;
	hf_error err;
	char v1[160], *dir = ts_tmpdir(), *file = ts_path(dir, "key");
	const char *argv[] = { "ask", "-m", "gpt-4o-mini", "--api-key-file", file, "--base-url", v1,
		               "Hello", NULL };
	ts_proc p;
	(void)state;

	make_key();
	mo.host = "127.0.0.1";
	mo.threads = 1;
	mo.require_key = key;
	assert_int_equal(hf_mock_start(&mock, &mo, &err), HF_OK);
	snprintf(v1, sizeof(v1), "%s/v1", hf_mock_url(mock));
	ts_write(file, key);

	assert_int_equal(chmod(file, 0600), 0);
	ts_run_cli(&p, NULL, NULL, argv);
	if (p.status != 0)
		fail_msg("a 0600 key file: exit %d: %s", p.status, p.err);
	assert_clean("the output with a key file", p.err, strlen(p.err));
	ts_proc_dispose(&p);

	assert_int_equal(chmod(file, 0644), 0);
	ts_run_cli(&p, NULL, NULL, argv);
	assert_int_equal(p.status, 3);
	assert_true(ts_contains(p.err, "has mode 0644; run chmod 600 "));
	assert_true(ts_contains(p.err, file));
	assert_clean("the refusal of a 0644 key file", p.err, strlen(p.err));
	ts_proc_dispose(&p);

	hf_mock_stop(mock);
	ts_rmtree(dir);
	free(file);
	free(dir);
}

/* ---- TLS verification ---- */

static unsigned short free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_open(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool port_is_open(void *port)
{
	return port_open(*(unsigned short *)port);
}

/* A TLS server with a self-signed certificate (openssl s_server -www,
 * which answers a GET with a status page). */
static void test_tls(void **state)
{
	char *dir = ts_tmpdir(), cmd[1024], url[128], accept_at[64];
	char *crt = ts_path(dir, "crt.pem"), *pem = ts_path(dir, "key.pem");
	unsigned short port;
	pid_t pid;
	ts_proc p;
	(void)state;

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	         "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 -keyout %s "
	         "-out %s >/dev/null 2>&1", pem, crt);
	if (system(cmd) != 0) {
		ts_rmtree(dir);
		skip(); /* no openssl command to make a certificate */
	}
	port = free_port();
	snprintf(accept_at, sizeof(accept_at), "127.0.0.1:%u", port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("openssl", "openssl", "s_server", "-accept", accept_at, "-cert", crt, "-key",
		       pem, "-www", "-quiet", (char *)NULL);
		_exit(127);
	}
	ts_wait_until(port_is_open, &port, "openssl s_server to listen");
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/v1", port);
	{
		const char *verified[] = { "models", "--retries", "0", "--base-url", url, NULL };
		const char *insecure[] = { "models", "--retries", "0", "--insecure", "--base-url", url,
			                   NULL };
		ts_run_cli(&p, NULL, NULL, verified);
		assert_int_equal(p.status, 5);
		assert_true(ts_contains(p.err, "certificate"));
		assert_false(ts_contains(p.err, "--insecure: TLS certificates are not verified"));
		ts_proc_dispose(&p);
		ts_run_cli(&p, NULL, NULL, insecure);
		assert_true(ts_contains(p.err, "handoff: warning: --insecure: TLS certificates are "
		                               "not verified"));
		/* the handshake passed: the status page is no model list */
		assert_true(ts_contains(p.err, "is not JSON text"));
		assert_int_equal(p.status, 5);
		ts_proc_dispose(&p);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	ts_rmtree(dir);
	free(crt);
	free(pem);
	free(dir);
}

static int setup(void **state)
{
	hf_error err;
	(void)state;
	return hf_global_init(&err);
}

static int teardown(void **state)
{
	(void)state;
	hf_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_library_trace),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
