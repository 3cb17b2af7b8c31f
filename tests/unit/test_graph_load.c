/*
 * test_graph_load.c - loading agent graphs: the default graph in agents/,
 * a directory with every key, lookups by name and by tool name, defaults,
 * settings, system prompts, and the limits of the lookup tables.
 */
#include "support.h"

#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static hf_graph *load_ok(const char *path)
{
	hf_graph *g = NULL;
	hf_diag *d = NULL;
	hf_error err;
	int rc = hf_graph_load(&g, path, &d, &err);
	if (rc || hf_diag_count(d))
		fail_msg("%s: rc %d, %zu diagnostics: %s", path, rc, hf_diag_count(d),
		         hf_diag_count(d) ? hf_diag_format(d, 0) : err.message);
	hf_diag_free(d);
	return g;
}

static hf_graph *load_string_ok(const char *yaml)
{
	hf_graph *g = NULL;
	hf_error err;
	if (hf_graph_load_string(&g, yaml, strlen(yaml), "t.yaml", NULL, &err))
		fail_msg("%s", err.message);
	return g;
}

static void test_default_graph(void **state)
{
	hf_graph *g = load_ok(HF_SOURCE_DIR "/agents");
	const hf_agent *triage, *es, *en;
	(void)state;

	assert_int_equal(hf_graph_agent_count(g), 3);
	triage = hf_graph_entry(g);
	assert_string_equal(hf_agent_name(triage), "Triage agent");
	assert_int_equal(hf_graph_routing(g), HF_ROUTING_STICKY);
	assert_int_equal(hf_graph_max_turns(g), 10);
	assert_string_equal(g->endpoint.api_key_env, "HANDOFF_API_KEY");
	assert_null(g->endpoint.base_url);

	/* the router hands off to Spanish, then English, in the listed order */
	assert_int_equal(hf_agent_handoff_count(triage), 2);
	es = hf_agent_handoff_at(triage, 0);
	en = hf_agent_handoff_at(triage, 1);
	assert_null(hf_agent_handoff_at(triage, 2));
	assert_string_equal(hf_agent_name(es), "Spanish agent");
	assert_string_equal(hf_agent_name(en), "English agent");
	assert_string_equal(triage->settings.tool_choice, "required");
	/* each specialist hands back to the router */
	assert_int_equal(hf_agent_handoff_count(es), 1);
	assert_ptr_equal(hf_agent_handoff_at(es, 0), triage);
	assert_ptr_equal(hf_agent_handoff_at(en, 0), triage);
	/* the default model applies; descriptions are set */
	assert_string_equal(hf_agent_model(es), "gpt-4o-mini");
	assert_non_null(hf_agent_description(es));
	assert_non_null(hf_agent_description(en));
	assert_string_equal(hf_agent_tool_name(es), "transfer_to_spanish_agent");
	/* the system message: the handoff prefix, a blank line, the instructions */
	assert_true(triage->handoff_prompt);
	assert_int_equal(strncmp(triage->system_prompt, hf_handoff_prompt_prefix,
	                         strlen(hf_handoff_prompt_prefix)),
	                 0);
	assert_string_equal(triage->system_prompt + strlen(hf_handoff_prompt_prefix) + 2,
	                    hf_agent_instructions(triage));
	assert_int_equal(strncmp(triage->system_prompt + strlen(hf_handoff_prompt_prefix), "\n\n", 2),
	                 0);
	hf_graph_free(g);
}

static void test_prompt_prefix(void **state)
{
	(void)state;
	/* what the Agents SDK's recommended prefix says, in our words */
	assert_int_equal(strncmp(hf_handoff_prompt_prefix, "# System context\n", 17), 0);
	assert_true(ts_contains(hf_handoff_prompt_prefix, "multi-agent system"));
	assert_true(ts_contains(hf_handoff_prompt_prefix, "transfer_to_<agent_name>"));
	assert_true(ts_contains(hf_handoff_prompt_prefix, "do not mention"));
}

static void test_every_key(void **state)
{
	hf_graph *g = load_ok(HF_TEST_DATA "/graphs/full");
	const hf_agent *router, *billing, *tech;
	(void)state;

	assert_int_equal(hf_graph_agent_count(g), 3);
	assert_int_equal(hf_graph_routing(g), HF_ROUTING_ROUTER);
	assert_int_equal(hf_graph_max_turns(g), 4);
	assert_string_equal(g->default_model, "default-model");
	assert_string_equal(g->endpoint.base_url, "http://127.0.0.1:9/v1");
	assert_string_equal(g->endpoint.api_key_env, "MY_KEY");
	assert_int_equal(g->endpoint.connect_timeout_ms, 2500);
	assert_int_equal(g->endpoint.timeout_ms, 30000);
	assert_int_equal(g->endpoint.idle_timeout_ms, 250);
	assert_int_equal(g->endpoint.max_retries, 3);

	/* load order: files by name (router.yaml, specialists.yaml) */
	router = hf_graph_agent_at(g, 0);
	billing = hf_graph_agent_at(g, 1);
	tech = hf_graph_agent_at(g, 2);
	assert_null(hf_graph_agent_at(g, 3));
	assert_ptr_equal(hf_graph_entry(g), router);
	assert_string_equal(hf_agent_name(billing), "Billing");
	assert_string_equal(hf_agent_name(tech), "Tech support");

	/* the default model applies where the agent names none; the graph's
	 * providers stay with the endpoint (env and flags override them) */
	assert_string_equal(hf_agent_model(router), "default-model");
	assert_null(hf_agent_provider(router));
	assert_null(hf_agent_compute_provider(router));
	assert_string_equal(g->endpoint.provider, "openai");
	assert_string_equal(g->endpoint.compute_provider, "lepton");
	assert_string_equal(hf_agent_model(billing), "billing-model");
	assert_string_equal(hf_agent_provider(billing), "other-provider");
	assert_string_equal(hf_agent_compute_provider(tech), "nebius");

	/* settings, with tool_choice given as an agent name stored as its tool */
	assert_true(router->settings.has_temperature);
	assert_true(router->settings.temperature == 0.0);
	assert_true(router->settings.has_top_p && router->settings.top_p == 0.5);
	assert_true(router->settings.has_max_tokens);
	assert_int_equal(router->settings.max_tokens, 100);
	assert_int_equal(router->settings.nstop, 1);
	assert_string_equal(router->settings.stop[0], "END");
	assert_null(router->settings.stop[1]);
	assert_true(router->settings.has_seed);
	assert_true(router->settings.seed == -7);
	assert_true(router->settings.has_parallel_tool_calls);
	assert_false(router->settings.parallel_tool_calls);
	assert_string_equal(router->settings.tool_choice, "transfer_to_tech_support");
	assert_string_equal(hf_agent_description(router), "Picks a specialist.");

	/* an anchor shared by two agents */
	assert_true(billing->settings.temperature == 0.2 && tech->settings.temperature == 0.2);
	assert_int_equal(tech->settings.nstop, 2);
	assert_string_equal(tech->settings.stop[1], "\n\n");
	assert_false(tech->settings.has_seed);
	assert_null(tech->settings.tool_choice);

	/* system prompts: prefix + instructions; instructions only; none */
	assert_true(ts_contains(router->system_prompt, "\n\nRoute it."));
	assert_string_equal(billing->system_prompt, "Answer billing questions.");
	assert_null(tech->system_prompt);
	assert_null(hf_agent_instructions(tech));

	/* the file and position each agent came from */
	assert_true(ts_contains(billing->file, "graphs/full/specialists.yaml"));
	assert_int_equal(billing->line, 3);
	assert_int_equal(billing->col, 11);
	hf_graph_free(g);
}

static void test_lookups(void **state)
{
	hf_graph *g = load_ok(HF_SOURCE_DIR "/agents");
	const hf_agent *es;
	(void)state;
	es = hf_graph_agent_by_name(g, "Spanish agent");
	assert_non_null(es);
	assert_string_equal(hf_agent_name(es), "Spanish agent");
	assert_ptr_equal(hf_graph_agent_by_tool(g, "transfer_to_spanish_agent"), es);
	assert_ptr_equal(hf_graph_agent_by_tool(g, "transfer_to_english_agent"),
	                 hf_graph_agent_by_name(g, "English agent"));
	/* exact names only */
	assert_null(hf_graph_agent_by_name(g, "spanish agent"));
	assert_null(hf_graph_agent_by_name(g, "transfer_to_spanish_agent"));
	assert_null(hf_graph_agent_by_tool(g, "Spanish agent"));
	assert_null(hf_graph_agent_by_tool(g, "transfer_to_nobody"));
	assert_null(hf_graph_agent_by_name(g, NULL));
	assert_null(hf_graph_agent_by_name(NULL, "Spanish agent"));
	hf_graph_free(g);
}

/* Many agents: every one is found by name and by tool through the tables. */
static void test_lookups_many(void **state)
{
	hf_buf yaml = HF_BUF_INIT;
	hf_graph *g;
	size_t i;
	(void)state;
	assert_int_equal(hf_buf_puts(&yaml, "entry: Agent 0\nmodel: m\nagents:\n"), 0);
	for (i = 0; i < 500; i++)
		assert_int_equal(hf_buf_printf(&yaml, "  - name: Agent %zu\n    handoffs: [Agent %zu]\n",
		                               i, (i + 1) % 500),
		                 0);
	g = load_string_ok(yaml.data);
	assert_int_equal(hf_graph_agent_count(g), 500);
	for (i = 0; i < 500; i++) {
		char name[32], tool[48];
		const hf_agent *a;
		snprintf(name, sizeof(name), "Agent %zu", i);
		snprintf(tool, sizeof(tool), "transfer_to_agent_%zu", i);
		a = hf_graph_agent_by_name(g, name);
		assert_ptr_equal(a, hf_graph_agent_at(g, i));
		assert_ptr_equal(hf_graph_agent_by_tool(g, tool), a);
		assert_string_equal(hf_agent_name(hf_agent_handoff_at(a, 0)),
		                    hf_agent_name(hf_graph_agent_at(g, (i + 1) % 500)));
	}
	assert_null(hf_graph_agent_by_name(g, "Agent 500"));
	hf_graph_free(g);
	hf_buf_dispose(&yaml);
}

static void test_single_agent(void **state)
{
	hf_graph *g = load_string_ok("name: Solo\nmodel: m\ninstructions: Be brief.\n"
	                             "handoff_prompt: false\n");
	const hf_agent *a = hf_graph_entry(g);
	(void)state;
	/* one agent and no entry: it is the entry; defaults for the rest */
	assert_string_equal(hf_agent_name(a), "Solo");
	assert_string_equal(a->system_prompt, "Be brief.");
	assert_null(hf_agent_provider(a));
	assert_int_equal(hf_agent_handoff_count(a), 0);
	assert_int_equal(hf_graph_max_turns(g), 10);
	assert_int_equal(hf_graph_routing(g), HF_ROUTING_STICKY);
	assert_int_equal(g->endpoint.max_retries, -1);
	assert_int_equal(g->endpoint.timeout_ms, 0);
	assert_false(a->settings.has_temperature);
	hf_graph_free(g);

	/* handoff_prompt without instructions: the prefix alone */
	g = load_string_ok("name: Bare\nmodel: m\nhandoff_prompt: true\n");
	assert_string_equal(hf_graph_entry(g)->system_prompt, hf_handoff_prompt_prefix);
	hf_graph_free(g);
}

static void test_one_file_graph(void **state)
{
	/* graph keys and agents in one text, over two documents */
	hf_graph *g = load_string_ok("entry: B\nrouting: sticky\nmodel: m\n"
	                             "agents:\n  - name: A\n  - name: B\n    handoffs: [A]\n"
	                             "---\nname: C\nhandoffs: [A]\n---\n");
	(void)state;
	assert_int_equal(hf_graph_agent_count(g), 3);
	assert_string_equal(hf_agent_name(hf_graph_entry(g)), "B");
	assert_string_equal(hf_agent_name(hf_graph_agent_at(g, 2)), "C");
	hf_graph_free(g);
}

static void test_directory_entries(void **state)
{
	char *dir = ts_tmpdir(), *other = ts_tmpdir();
	char *real = ts_path(other, "agent.txt"), *link = ts_path(dir, "linked.yaml");
	char *sub = ts_path(dir, "sub.yaml"), *hidden = ts_path(dir, ".hidden.yaml");
	char *txt = ts_path(dir, "notes.txt");
	hf_graph *g;
	(void)state;
	/* a link to a YAML file counts; a directory, a hidden file and other
	 * extensions do not */
	ts_write(real, "name: Linked\nmodel: m\n");
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	ts_write(hidden, "name: Hidden\nmodel: m\n");
	ts_write(txt, "name: Text\nmodel: m\n");
	g = load_ok(dir);
	assert_int_equal(hf_graph_agent_count(g), 1);
	assert_string_equal(hf_agent_name(hf_graph_entry(g)), "Linked");
	hf_graph_free(g);
	ts_rmtree(dir);
	ts_rmtree(other);
	free(real);
	free(link);
	free(sub);
	free(hidden);
	free(txt);
	free(dir);
	free(other);
}

static void test_diags_without_graph(void **state)
{
	hf_graph *g = (hf_graph *)1;
	hf_diag *d = (hf_diag *)1;
	hf_error err;
	(void)state;
	/* out-parameters are cleared on failure; NULL diags is allowed */
	assert_int_equal(hf_graph_load_string(&g, "name: [", 7, "x.yaml", &d, &err), HF_ECONFIG);
	assert_null(g);
	assert_int_equal(hf_diag_error_count(d), 1);
	assert_string_equal(hf_diag_file(d, 0), "x.yaml");
	assert_null(hf_diag_message(d, 1));
	hf_diag_free(d);
	assert_int_equal(hf_graph_load_string(&g, "name: [", 7, "x.yaml", NULL, &err), HF_ECONFIG);
	assert_true(ts_contains(err.message, "x.yaml:"));
	assert_int_equal(hf_diag_count(NULL), 0);
	hf_graph_free(NULL);
	hf_diag_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_graph),
		cmocka_unit_test(test_prompt_prefix),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_lookups_many),
		cmocka_unit_test(test_single_agent),
		cmocka_unit_test(test_one_file_graph),
		cmocka_unit_test(test_directory_entries),
		cmocka_unit_test(test_diags_without_graph),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
