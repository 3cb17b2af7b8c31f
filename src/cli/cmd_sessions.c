/*
 * cmd_sessions.c - `handoff sessions list|show|export|delete`: look at and
 * manage the conversations kept in the session database.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DB_HELP \
	"      --db PATH    the session database (default $HANDOFF_DB, else\n" \
	"                   $XDG_STATE_HOME/handoff/sessions.db, else\n" \
	"                   ~/.local/state/handoff/sessions.db)\n" \
	"  -h, --help       this help\n"

typedef struct args {
	const char *id;
	const char *db;
	bool json;
	long limit;
	bool markdown;
	char *path; /* the resolved database path */
} args;

typedef struct action {
	const char *name;
	bool takes_id;
	bool writes;
	int (*run)(hf_store *st, const args *a);
	const char *help;
} action;

/* ---- list ---- */

typedef struct row {
	char *id;
	char *agent;
	hf_session_info info;
} row;

typedef struct rows {
	row *v;
	size_t n;
	bool oom;
} rows;

static int keep_row(const hf_session_info *info, void *payload)
{
	rows *r = payload;
	row *v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v) {
		r->oom = true;
		return 1;
	}
	r->v = v;
	v[r->n].info = *info;
	v[r->n].id = strdup(info->id);
	v[r->n].agent = info->agent ? strdup(info->agent) : NULL;
	if (!v[r->n].id || (info->agent && !v[r->n].agent))
		r->oom = true;
	r->n++;
	return r->oom;
}

static void rows_dispose(rows *r)
{
	size_t i;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].id);
		free(r->v[i].agent);
	}
	free(r->v);
}

static void format_time(char *buf, size_t cap, int64_t t, bool utc)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!(utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) ||
	    !strftime(buf, cap, utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, cap, "%lld", (long long)t);
}

static cJSON *usage_json(const hf_usage *u)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "requests", (double)u->requests);
	cJSON_AddNumberToObject(o, "input_tokens", (double)u->input_tokens);
	cJSON_AddNumberToObject(o, "output_tokens", (double)u->output_tokens);
	cJSON_AddNumberToObject(o, "total_tokens", (double)u->total_tokens);
	return o;
}

/* Print a cJSON document (and free it); HF_ENOMEM when building it failed. */
static int print_json(cJSON *doc, bool pretty)
{
	char *text = doc ? (pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc)) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return HF_ENOMEM;
	printf("%s\n", text);
	free(text);
	return HF_OK;
}

static int list_json(const rows *r)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	char t[32];
	size_t i;
	for (i = 0; arr && i < r->n; i++) {
		const hf_session_info *in = &r->v[i].info;
		if (!(o = cJSON_CreateObject()))
			break;
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "id", r->v[i].id);
		if (r->v[i].agent)
			cJSON_AddStringToObject(o, "agent", r->v[i].agent);
		else
			cJSON_AddNullToObject(o, "agent");
		cJSON_AddNumberToObject(o, "messages", (double)in->messages);
		format_time(t, sizeof(t), in->created_at, true);
		cJSON_AddStringToObject(o, "created_at", t);
		format_time(t, sizeof(t), in->updated_at, true);
		cJSON_AddStringToObject(o, "updated_at", t);
		cJSON_AddItemToObject(o, "usage", usage_json(&in->usage));
	}
	return print_json(arr, false);
}

/* Print s left-aligned in `width` terminal columns. */
static void put_cell(const char *s, size_t width)
{
	size_t w = hf_text_width(s);
	fputs(s, stdout);
	while (w++ < width)
		putchar(' ');
}

static void list_table(const rows *r)
{
	size_t wid = 2, wagent = 5, i;
	char t[32];
	for (i = 0; i < r->n; i++) {
		size_t a = r->v[i].agent ? hf_text_width(r->v[i].agent) : 1;
		if (strlen(r->v[i].id) > wid)
			wid = strlen(r->v[i].id);
		if (a > wagent)
			wagent = a;
	}
	put_cell("ID", wid + 2);
	put_cell("AGENT", wagent + 2);
	printf("%8s  %-16s  %10s\n", "MESSAGES", "UPDATED", "TOKENS");
	for (i = 0; i < r->n; i++) {
		const hf_session_info *in = &r->v[i].info;
		put_cell(r->v[i].id, wid + 2);
		put_cell(r->v[i].agent ? r->v[i].agent : "-", wagent + 2);
		format_time(t, sizeof(t), in->updated_at, false);
		printf("%8zu  %-16s  %10llu\n", in->messages, t,
		       (unsigned long long)in->usage.total_tokens);
	}
}

static int run_list(hf_store *st, const args *a)
{
	rows r = { NULL, 0, false };
	hf_error err;
	int rc = hf_store_list(st, (size_t)a->limit, keep_row, &r, &err);
	if (rc == HF_OK && (r.oom || (a->json && list_json(&r))))
		rc = cli_oom_error(&err, "listing sessions")->code;
	else if (rc == HF_OK && !a->json && r.n == 0)
		cli_note("no sessions in %s\n", a->path);
	else if (rc == HF_OK && !a->json)
		list_table(&r);
	rows_dispose(&r);
	return rc ? cli_fail(&err) : HF_EXIT_OK;
}

/* ---- reading a conversation (show, export --format markdown) ---- */

typedef enum item_kind { ITEM_USER, ITEM_AGENT, ITEM_HANDOFF, ITEM_TOOL } item_kind;

typedef void (*item_fn)(item_kind kind, const char *label, const char *text, void *payload);

/* The agent a handoff's tool message names ({"assistant": "NAME"}), owned;
 * NULL when the message is not a handoff result. */
static char *handoff_target(const char *content)
{
	cJSON *doc = cJSON_Parse(content);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "assistant");
	char *target = NULL;
	if (cJSON_IsObject(doc) && cJSON_GetArraySize(doc) == 1 && cJSON_IsString(name))
		target = strdup(name->valuestring);
	cJSON_Delete(doc);
	return target;
}

/* Call fn for each thing worth showing, in order. Assistant messages are
 * labelled with the agent the last recorded handoff went to ("assistant"
 * before the first one); a handoff's call and result become one item. */
static void walk(const hf_session *s, item_fn fn, void *payload)
{
	size_t i, n = hf_session_message_count(s);
	char *agent = NULL, *target;
	hf_message m;
	for (i = 0; i < n; i++) {
		if (hf_session_message(&m, s, i, NULL))
			break;
		if (!strcmp(m.role, "user")) {
			fn(ITEM_USER, "user", m.content, payload);
		} else if (!strcmp(m.role, "assistant")) {
			if (m.content && *m.content)
				fn(ITEM_AGENT, agent ? agent : "assistant", m.content, payload);
		} else if ((target = handoff_target(m.content))) {
			fn(ITEM_HANDOFF, target, NULL, payload);
			free(agent);
			agent = target;
		} else {
			fn(ITEM_TOOL, m.tool_call_id, m.content, payload);
		}
	}
	free(agent);
}

static int load(hf_session **s, hf_store *st, const args *a)
{
	hf_error err;
	return hf_store_load(s, st, a->id, &err) ? cli_fail(&err) : HF_EXIT_OK;
}

/* ---- show ---- */

typedef struct show_state {
	bool color;
	bool first;
} show_state;

static void show_item(item_kind kind, const char *label, const char *text, void *payload)
{
	show_state *st = payload;
	const char *bold = st->color ? "\033[1m" : "", *dim = st->color ? "\033[2m" : "",
	           *off = st->color ? "\033[0m" : "";
	/* stored text came from users and endpoints: no escape reaches the terminal */
	char *l, *t;
	hf_error err;
	hf_text_escape(&l, label ? label : "", NULL, &err);
	hf_text_escape(&t, text ? text : "", "\n\t", &err);
	if (kind == ITEM_USER && !st->first)
		putchar('\n');
	st->first = false;
	if (!l || !t)
		fputs("(out of memory)\n", stdout);
	else if (kind == ITEM_HANDOFF)
		printf("%s→ handed off to %s%s\n", dim, l, off);
	else if (kind == ITEM_TOOL)
		printf("%s  tool %s: %s%s\n", dim, l, t, off);
	else
		printf("%s%s:%s %s\n", bold, l, off, t);
	free(l);
	free(t);
}

static int run_show(hf_store *st, const args *a)
{
	show_state state = { cli_color(stdout), true };
	hf_session *s;
	hf_usage u;
	int rc = load(&s, st, a);
	if (rc)
		return rc;
	u = hf_session_usage(s);
	printf("session %s · agent %s · %zu messages · %llu tokens in %llu requests\n\n",
	       hf_session_id(s), hf_session_agent(s) ? hf_session_agent(s) : "-",
	       hf_session_message_count(s), (unsigned long long)u.total_tokens,
	       (unsigned long long)u.requests);
	walk(s, show_item, &state);
	hf_session_free(s);
	return HF_EXIT_OK;
}

/* ---- export ---- */

/* Stored text as Markdown that shows it literally: control characters
 * escaped (hf_text_escape), and every character that could make a heading,
 * emphasis, a list, a quote, code, a link or HTML backslash-escaped, so
 * that text cannot forge a heading or a handoff line. Owned; NULL when out
 * of memory. */
static char *md_text(const char *s, bool one_line)
{
	char *e, *out, *o;
	const char *p;
	bool line_start = true;
	hf_error err;
	hf_text_escape(&e, s ? s : "", one_line ? NULL : "\n", &err);
	if (!e || !(out = o = malloc(strlen(e) * 2 + 1))) {
		free(e);
		return NULL;
	}
	for (p = e; *p; p++) {
		if (line_start) {
			const char *q = p;
			while (*q == ' ')
				*o++ = *q++;
			p = q;
			if (!*p)
				break;
			if (strchr("-+=", *p)) {
				*o++ = '\\';
			} else if (*p >= '0' && *p <= '9') { /* "1." or "1)": an ordered list */
				while (*p >= '0' && *p <= '9')
					*o++ = *p++;
				if (*p == '.' || *p == ')')
					*o++ = '\\';
				if (!*p)
					break;
			}
		}
		if (strchr("\\`*_[]<>#|~", *p))
			*o++ = '\\';
		*o++ = *p;
		line_start = *p == '\n';
	}
	*o = '\0';
	free(e);
	return out;
}

static void markdown_item(item_kind kind, const char *label, const char *text, void *payload)
{
	char *l = md_text(label, true), *t = md_text(text, kind == ITEM_TOOL);
	(void)payload;
	if (!l || !t)
		fputs("(out of memory)\n\n", stdout);
	else if (kind == ITEM_HANDOFF)
		printf("*→ handed off to %s*\n\n", l);
	else if (kind == ITEM_TOOL)
		printf("> tool %s: %s\n\n", l, t);
	else
		printf("### %s\n\n%s\n\n", l, t);
	free(l);
	free(t);
}

/* A YAML-safe scalar: the string quoted as JSON (owned). */
static char *quoted(const char *s)
{
	cJSON *str = s ? cJSON_CreateString(s) : cJSON_CreateNull();
	char *q = str ? cJSON_PrintUnformatted(str) : NULL;
	cJSON_Delete(str);
	return q;
}

static int export_markdown(const hf_session *s)
{
	char *id = quoted(hf_session_id(s)), *agent = quoted(hf_session_agent(s));
	hf_usage u = hf_session_usage(s);
	int rc = id && agent ? HF_OK : HF_ENOMEM;
	if (rc == HF_OK) {
		printf("---\nid: %s\nagent: %s\nmessages: %zu\n"
		       "usage: {requests: %llu, input_tokens: %llu, output_tokens: %llu, "
		       "total_tokens: %llu}\n---\n\n",
		       id, agent, hf_session_message_count(s), (unsigned long long)u.requests,
		       (unsigned long long)u.input_tokens, (unsigned long long)u.output_tokens,
		       (unsigned long long)u.total_tokens);
		walk(s, markdown_item, NULL);
	}
	free(id);
	free(agent);
	return rc;
}

static int export_json(const hf_session *s)
{
	cJSON *doc = cJSON_CreateObject(), *msgs = cJSON_CreateArray(), *m;
	hf_usage u = hf_session_usage(s);
	size_t i;
	for (i = 0; msgs && i < hf_session_message_count(s); i++) {
		if (!(m = cJSON_Parse(hf_session_message_json(s, i)))) {
			cJSON_Delete(msgs);
			msgs = NULL;
		} else {
			cJSON_AddItemToArray(msgs, m);
		}
	}
	if (!doc || !msgs) {
		cJSON_Delete(doc);
		cJSON_Delete(msgs);
		return HF_ENOMEM;
	}
	cJSON_AddStringToObject(doc, "id", hf_session_id(s));
	if (hf_session_agent(s))
		cJSON_AddStringToObject(doc, "agent", hf_session_agent(s));
	else
		cJSON_AddNullToObject(doc, "agent");
	cJSON_AddItemToObject(doc, "usage", usage_json(&u));
	cJSON_AddItemToObject(doc, "messages", msgs);
	return print_json(doc, true);
}

static int run_export(hf_store *st, const args *a)
{
	hf_session *s;
	hf_error err;
	int rc = load(&s, st, a);
	if (rc)
		return rc;
	rc = a->markdown ? export_markdown(s) : export_json(s);
	hf_session_free(s);
	if (rc) {
		return cli_fail(cli_oom_error(&err, "exporting the session"));
	}
	return HF_EXIT_OK;
}

/* ---- delete ---- */

static int run_delete(hf_store *st, const args *a)
{
	hf_error err;
	if (hf_store_delete(st, a->id, &err))
		return cli_fail(&err);
	cli_note("deleted session '%s' from %s\n", a->id, a->path);
	return HF_EXIT_OK;
}

/* ---- the command ---- */

static const action actions[] = {
	{ "list", false, false, run_list,
	  "usage: handoff sessions list [--json] [-n N] [--db PATH]\n\n"
	  "Stored sessions, most recently used first: id, the agent holding the\n"
	  "conversation, messages, last use (local time) and tokens used.\n\n"
	  "options:\n"
	  "      --json       one JSON array: id, agent, messages, created_at,\n"
	  "                   updated_at (UTC, ISO 8601), usage\n"
	  "  -n N             at most N sessions\n" DB_HELP },
	{ "show", true, false, run_show,
	  "usage: handoff sessions show ID [--db PATH]\n\n"
	  "The conversation, readable: the user's messages, each agent's answers\n"
	  "and every handoff (\"→ handed off to AGENT\").\n\n"
	  "options:\n" DB_HELP },
	{ "export", true, false, run_export,
	  "usage: handoff sessions export ID [--format json|markdown] [--db PATH]\n\n"
	  "The conversation on stdout. json (default): {\"id\", \"agent\", \"usage\",\n"
	  "\"messages\"} with the messages in chat-completions format, as sent to the\n"
	  "model. markdown: front matter (id, agent, messages, usage), then the turns.\n\n"
	  "options:\n"
	  "      --format F   json or markdown\n" DB_HELP },
	{ "delete", true, true, run_delete,
	  "usage: handoff sessions delete ID [--db PATH]\n\n"
	  "Remove a conversation from the database.\n\n"
	  "options:\n" DB_HELP },
};

static const char help_all[] =
	"usage: handoff sessions [list] [--json] [-n N] [--db PATH]\n"
	"       handoff sessions show ID [--db PATH]\n"
	"       handoff sessions export ID [--format json|markdown] [--db PATH]\n"
	"       handoff sessions delete ID [--db PATH]\n\n"
	"Look at and manage the conversations `handoff run` and `handoff chat` keep.\n"
	"'handoff sessions ACTION --help' describes an action.\n\n"
	"options:\n" DB_HELP;

enum { OPT_DB = 1, OPT_JSON, OPT_FORMAT };

/* Open the store and run the action. Reading actions open the database
 * read-only and write nothing; a database that does not exist yet (or an
 * empty file) is not created: it simply holds no sessions. */
static int run_action(const action *act, args *a)
{
	struct stat sb;
	hf_store *st;
	hf_error err;
	bool found;
	int rc;
	if (a->db)
		a->path = strdup(a->db);
	else if (hf_store_default_path(&a->path, &err))
		return cli_fail(&err);
	if (!a->path)
		return cli_fail(cli_oom_error(&err, "opening the session database"));
	found = stat(a->path, &sb) == 0;
	if ((!found && errno == ENOENT) || (found && S_ISREG(sb.st_mode) && !sb.st_size)) {
		if (act->takes_id) {
			snprintf(err.message, sizeof(err.message), "no session '%s' in %s", a->id, a->path);
			err.code = HF_ENOTFOUND;
			return cli_fail(&err);
		}
		if (a->json)
			printf("[]\n");
		else
			cli_note("no sessions in %s (%s)\n", a->path,
			         found ? "it is empty" : "it does not exist yet");
		return HF_EXIT_OK;
	}
	if ((act->writes ? hf_store_open_sqlite : hf_store_open_sqlite_readonly)(&st, a->path, &err))
		return cli_fail(&err);
	rc = act->run(st, a);
	hf_store_free(st);
	return rc;
}

int hf_cmd_sessions(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	args a = { NULL, NULL, false, 0, false, NULL };
	const char *format = NULL, *name;
	const action *act = NULL;
	bool help = false, limit_set = false, named;
	hf_error err;
	size_t i;
	int opt, rc;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_DB: a.db = optarg; break;
		case OPT_JSON: a.json = true; break;
		case OPT_FORMAT: format = optarg; break;
		case 'h': help = true; break;
		case 'n':
			if (!cli_parse_long(optarg, 1, 1000000, &a.limit))
				return cli_usage_error("sessions", "-n takes a number from 1 to 1000000, not '%s'",
				                       optarg);
			limit_set = true;
			break;
		case ':':
			return cli_usage_error("sessions", "%s needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("sessions", "unknown option '%s'", argv[optind - 1]);
		}
	}
	named = optind < argc;
	name = named ? argv[optind++] : "list";
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(name, actions[i].name))
			act = &actions[i];
	if (help) {
		fputs(named && act ? act->help : help_all, stdout);
		return HF_EXIT_OK;
	}
	if (!act)
		return cli_usage_error("sessions", "unknown action '%s' (list, show, export, delete)",
		                       name);
	if (act->takes_id && optind < argc)
		a.id = argv[optind++];
	if (optind < argc)
		return cli_usage_error("sessions", "unexpected argument '%s'", argv[optind]);
	if (act->takes_id && !a.id)
		return cli_usage_error("sessions", "%s needs a session ID", act->name);
	if ((a.json || limit_set) && act->run != run_list)
		return cli_usage_error("sessions", "--json and -n are options of 'list'");
	if (format && act->run != run_export)
		return cli_usage_error("sessions", "--format is an option of 'export'");
	if (format && strcmp(format, "json") && strcmp(format, "markdown"))
		return cli_usage_error("sessions", "--format takes json or markdown, not '%s'", format);
	a.markdown = format && !strcmp(format, "markdown");
	if (a.id && hf_session_id_check(a.id, &err))
		return cli_fail(&err);
	rc = run_action(act, &a);
	hf_free(a.path);
	return rc;
}
