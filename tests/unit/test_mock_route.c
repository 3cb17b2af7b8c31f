/*
 * test_mock_route.c - the mock's routing model: language detection and
 * language names (unit level), then routing decisions over HTTP: route to
 * the agent of the user's language, answer in it, hand back to the router
 * when the user switches language, and route again after a hand-back.
 */
#include "support_mock.h"
#include "mock_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	mock_lang lang;
} samples[] = {
	{ "Hola, ¿cómo estás?", MOCK_LANG_ES },
	{ "Necesito ayuda con mi cuenta, por favor", MOCK_LANG_ES },
	{ "Hello, how are you?", MOCK_LANG_EN },
	{ "Can you help me with my order?", MOCK_LANG_EN },
	{ "Bonjour, comment allez-vous ?", MOCK_LANG_FR },
	{ "Je suis très content, merci", MOCK_LANG_FR },
	{ "Hallo, wie geht es dir?", MOCK_LANG_DE },
	{ "Ich brauche Hilfe mit meiner Bestellung", MOCK_LANG_DE },
	{ "Olá, tudo bem? Como você está?", MOCK_LANG_PT },
	{ "Não sei, obrigado", MOCK_LANG_PT },
	{ "Ciao, come stai oggi?", MOCK_LANG_IT },
	{ "Grazie mille, sono contento", MOCK_LANG_IT },
	{ "你好，今天天气怎么样？", MOCK_LANG_ZH },
	{ "こんにちは、元気ですか？", MOCK_LANG_JA },
	{ "東京はどこですか", MOCK_LANG_JA },
	{ "안녕하세요, 잘 지내세요?", MOCK_LANG_KO },
	{ "Привет, как дела?", MOCK_LANG_RU },
	{ "مرحبا، كيف حالك؟", MOCK_LANG_AR },
	{ "Γεια σου, τι κάνεις;", MOCK_LANG_EL },
	{ "שלום, מה שלומך?", MOCK_LANG_HE },
	{ "नमस्ते, आप कैसे हैं?", MOCK_LANG_HI },
	{ "สวัสดีครับ สบายดีไหม", MOCK_LANG_TH },
	{ "", MOCK_LANG_EN },
	{ "12345 !!!", MOCK_LANG_EN },
	{ "OK", MOCK_LANG_EN },
};

static void test_detect(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(samples); i++) {
		mock_lang got = mock_lang_detect(samples[i].text, strlen(samples[i].text));
		if (got != samples[i].lang)
			fail_msg("'%s': detected %s, expected %s", samples[i].text, mock_lang_code(got),
			         mock_lang_code(samples[i].lang));
	}
}

static void test_detect_tolerates_bad_utf8(void **state)
{
	const char bad[] = "Hola \xC3\x28 \xFF\xFE ¿qué tal? \xE4\xB8";
	(void)state;
	assert_int_equal(mock_lang_detect(bad, sizeof(bad) - 1), MOCK_LANG_ES);
}

static void test_named(void **state)
{
	(void)state;
	assert_int_equal(mock_lang_named("Spanish agent"), MOCK_LANG_ES);
	assert_int_equal(mock_lang_named("transfer_to_spanish_agent"), MOCK_LANG_ES);
	assert_int_equal(mock_lang_named("Agente ESPAÑOL"), MOCK_LANG_ES);
	/* the Python SDK turns "Agente español" into transfer_to_agente_espa_ol */
	assert_int_equal(mock_lang_named("transfer_to_agente_espa_ol"), MOCK_LANG_ES);
	assert_int_equal(mock_lang_named("transfer_to_english_agent"), MOCK_LANG_EN);
	assert_int_equal(mock_lang_named("Agent français"), MOCK_LANG_FR);
	assert_int_equal(mock_lang_named("transfer_to_deutsch"), MOCK_LANG_DE);
	assert_int_equal(mock_lang_named("Portuguese helper"), MOCK_LANG_PT);
	assert_int_equal(mock_lang_named("italiano"), MOCK_LANG_IT);
	assert_int_equal(mock_lang_named("中文助手"), MOCK_LANG_ZH);
	assert_int_equal(mock_lang_named("Japanese agent"), MOCK_LANG_JA);
	assert_int_equal(mock_lang_named("Russian agent"), MOCK_LANG_RU);
	assert_int_equal(mock_lang_named("Arabic agent"), MOCK_LANG_AR);
	/* none, several, or only inside another word */
	assert_int_equal(mock_lang_named("Triage agent"), -1);
	assert_int_equal(mock_lang_named("Routes Spanish or English speakers"), -1);
	assert_int_equal(mock_lang_named("Thailand trips"), -1);
	assert_int_equal(mock_lang_named(NULL), -1);
	assert_int_equal(mock_lang_named(""), -1);
}

/* ---- over HTTP ---- */

typedef struct conv {
	cJSON *req;
	cJSON *messages;
	cJSON *tools;
} conv;

static void conv_init(conv *c)
{
	c->req = cJSON_CreateObject();
	cJSON_AddStringToObject(c->req, "model", "gpt-4o");
	c->messages = cJSON_AddArrayToObject(c->req, "messages");
	c->tools = cJSON_AddArrayToObject(c->req, "tools");
}

static void add_msg(conv *c, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	cJSON_AddItemToArray(c->messages, m);
}

/* The assistant call + tool result a runner appends after a handoff. */
static void add_handoff(conv *c, const char *tool, const char *agent)
{
	cJSON *m = cJSON_CreateObject(), *calls, *call, *fn, *t;
	char content[128];
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddNullToObject(m, "content");
	calls = cJSON_AddArrayToObject(m, "tool_calls");
	call = cJSON_CreateObject();
	cJSON_AddStringToObject(call, "id", "call_x");
	cJSON_AddStringToObject(call, "type", "function");
	fn = cJSON_AddObjectToObject(call, "function");
	cJSON_AddStringToObject(fn, "name", tool);
	cJSON_AddStringToObject(fn, "arguments", "{}");
	cJSON_AddItemToArray(calls, call);
	cJSON_AddItemToArray(c->messages, m);
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "role", "tool");
	cJSON_AddStringToObject(t, "tool_call_id", "call_x");
	snprintf(content, sizeof(content), "{\"assistant\": \"%s\"}", agent);
	cJSON_AddStringToObject(t, "content", content);
	cJSON_AddItemToArray(c->messages, t);
}

static void add_tool(conv *c, const char *name, const char *description)
{
	cJSON *t = cJSON_CreateObject(), *fn;
	cJSON_AddStringToObject(t, "type", "function");
	fn = cJSON_AddObjectToObject(t, "function");
	cJSON_AddStringToObject(fn, "name", name);
	if (description)
		cJSON_AddStringToObject(fn, "description", description);
	cJSON_AddItemToArray(c->tools, t);
}

/* Send the conversation; returns the tool called ("" when the reply is
 * text, whose content goes to *content). Owned. */
static char *ask(hf_mock *m, conv *c, char **content)
{
	char *body = cJSON_PrintUnformatted(c->req), *out;
	tm_resp r;
	cJSON *j, *msg, *calls, *text;
	tm_post(&r, m, "/v1/chat/completions", body, NULL);
	assert_int_equal(r.status, 200);
	j = tm_json(&r);
	msg = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
	calls = cJSON_GetObjectItem(msg, "tool_calls");
	text = cJSON_GetObjectItem(msg, "content");
	if (content)
		*content = cJSON_IsString(text) ? strdup(text->valuestring) : NULL;
	if (calls) {
		cJSON *call = cJSON_GetArrayItem(calls, 0);
		assert_int_equal(cJSON_GetArraySize(calls), 1);
		assert_true(cJSON_IsNull(text));
		assert_true(strncmp(cJSON_GetObjectItem(call, "id")->valuestring, "call_", 5) == 0);
		assert_string_equal(
		        cJSON_GetObjectItem(cJSON_GetObjectItem(call, "function"), "arguments")->valuestring,
		        "{}");
		out = strdup(cJSON_GetObjectItem(cJSON_GetObjectItem(call, "function"), "name")->valuestring);
	} else {
		out = strdup("");
	}
	cJSON_Delete(j);
	tm_resp_dispose(&r);
	free(body);
	return out;
}

static const struct {
	const char *input;
	const char *tool;
	const char *answer_start;
} route_cases[] = {
	{ "Hola, ¿cómo estás?", "transfer_to_spanish_agent", "¡Hola!" },
	{ "Hello, how are you?", "transfer_to_english_agent", "Hello!" },
	{ "Bonjour, comment allez-vous ?", "transfer_to_french_agent", "Bonjour !" },
	{ "Hallo, wie geht es dir?", "transfer_to_german_agent", "Hallo!" },
	{ "Olá, tudo bem? Como você está?", "transfer_to_portuguese_agent", "Olá!" },
	{ "Ciao, come stai oggi?", "transfer_to_italian_agent", "Ciao!" },
	{ "你好，今天天气怎么样？", "transfer_to_chinese_agent", "你好！" },
	{ "こんにちは、元気ですか？", "transfer_to_japanese_agent", "こんにちは！" },
	{ "Привет, как дела?", "transfer_to_russian_agent", "Здравствуйте!" },
	{ "مرحبا، كيف حالك؟", "transfer_to_arabic_agent", "مرحبا!" },
};

static void offer_all(conv *c)
{
	size_t i;
	for (i = 0; i < HF_ARRAY_LEN(route_cases); i++)
		add_tool(c, route_cases[i].tool, "Handoff to the agent to handle the request. ");
}

static void test_routes_each_language(void **state)
{
	hf_mock *m = tm_start(NULL);
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(route_cases); i++) {
		conv c;
		char *tool;
		conv_init(&c);
		add_msg(&c, "system", "You are the triage agent.");
		add_msg(&c, "user", route_cases[i].input);
		offer_all(&c);
		tool = ask(m, &c, NULL);
		if (strcmp(tool, route_cases[i].tool))
			fail_msg("'%s' routed to '%s', expected %s", route_cases[i].input, tool,
			         route_cases[i].tool);
		free(tool);
		cJSON_Delete(c.req);
	}
	hf_mock_stop(m);
}

static void test_answers_each_language(void **state)
{
	hf_mock *m = tm_start(NULL);
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(route_cases); i++) {
		conv c;
		char *tool, *content = NULL;
		conv_init(&c);
		add_msg(&c, "user", route_cases[i].input);
		/* after the handoff to that language's agent, which offers none */
		add_handoff(&c, route_cases[i].tool, route_cases[i].tool + strlen("transfer_to_"));
		tool = ask(m, &c, &content);
		assert_string_equal(tool, "");
		assert_non_null(content);
		if (strncmp(content, route_cases[i].answer_start, strlen(route_cases[i].answer_start)))
			fail_msg("'%s' answered '%s'", route_cases[i].input, content);
		free(tool);
		free(content);
		cJSON_Delete(c.req);
	}
	hf_mock_stop(m);
}

static void test_route_by_description(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	char *tool;
	(void)state;
	conv_init(&c);
	add_msg(&c, "user", "Bonjour, je voudrais de l'aide");
	add_tool(&c, "transfer_to_agent_a", "Handoff to the Agent A agent. Speaks English.");
	add_tool(&c, "transfer_to_agent_b", "Handoff to the Agent B agent. Parle français.");
	tool = ask(m, &c, NULL);
	assert_string_equal(tool, "transfer_to_agent_b");
	free(tool);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_no_matching_tool_answers(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	char *tool, *content;
	(void)state;
	conv_init(&c);
	add_msg(&c, "user", "Ciao, come stai?");
	add_tool(&c, "transfer_to_spanish_agent", NULL);
	add_tool(&c, "lookup_order", NULL);
	tool = ask(m, &c, &content);
	assert_string_equal(tool, "");
	assert_string_equal(content, "Ciao! Sono felice di aiutarti in italiano.");
	free(tool);
	free(content);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

/* No language route: the handoff whose name or description shares the most
 * topic words (stop words aside, "order" matching "orders") is taken; a
 * tie or no shared word leaves the router answering. */
static void test_route_by_topic(void **state)
{
	static const struct {
		const char *input, *tool;
	} cases[] = {
		{ "Where is my order A1003?", "transfer_to_orders_agent" },
		{ "I was charged twice on my last invoice", "transfer_to_billing" },
		{ "My parcel never arrived", "transfer_to_shipping" },
		{ "Can you help me with a question?", "" },   /* only stop words */
		{ "Parcel refund for my order", "" },         /* one word each: a tie */
	};
	hf_mock *m = tm_start(NULL);
	size_t i;
	(void)state;
	for (i = 0; i < HF_ARRAY_LEN(cases); i++) {
		conv c;
		char *tool;
		conv_init(&c);
		add_msg(&c, "user", cases[i].input);
		add_tool(&c, "transfer_to_orders_agent", "Answers questions about orders.");
		add_tool(&c, "transfer_to_billing", "Invoices, charges and refunds.");
		add_tool(&c, "transfer_to_shipping", "Parcels, delivery and tracking.");
		tool = ask(m, &c, NULL);
		if (strcmp(tool, cases[i].tool))
			fail_msg("'%s' went to '%s', expected '%s'", cases[i].input, tool, cases[i].tool);
		free(tool);
		cJSON_Delete(c.req);
	}
	hf_mock_stop(m);
}

static void test_hand_back_and_reroute(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	char *tool, *content;
	(void)state;
	/* turn 1: routed to the Spanish agent, which answered */
	conv_init(&c);
	add_msg(&c, "user", "Hola, ¿cómo estás?");
	add_handoff(&c, "transfer_to_spanish_agent", "Spanish agent");
	add_msg(&c, "assistant", "¡Hola! Con gusto te ayudo en español.");
	/* turn 2, sticky: the Spanish agent gets English and hands back */
	add_msg(&c, "user", "Thanks, can you help me in English now?");
	add_tool(&c, "transfer_to_triage_agent", "Handoff to the Triage agent agent. ");
	tool = ask(m, &c, NULL);
	assert_string_equal(tool, "transfer_to_triage_agent");
	free(tool);

	/* the router, after the hand-back, routes to the English agent */
	add_handoff(&c, "transfer_to_triage_agent", "Triage agent");
	cJSON_DeleteItemFromObject(c.req, "tools");
	c.tools = cJSON_AddArrayToObject(c.req, "tools");
	add_tool(&c, "transfer_to_spanish_agent", NULL);
	add_tool(&c, "transfer_to_english_agent", NULL);
	tool = ask(m, &c, NULL);
	assert_string_equal(tool, "transfer_to_english_agent");
	free(tool);

	/* the English agent answers; it does not hand back again */
	add_handoff(&c, "transfer_to_english_agent", "English agent");
	cJSON_DeleteItemFromObject(c.req, "tools");
	c.tools = cJSON_AddArrayToObject(c.req, "tools");
	add_tool(&c, "transfer_to_triage_agent", NULL);
	tool = ask(m, &c, &content);
	assert_string_equal(tool, "");
	assert_string_equal(content, "Hello! I'm happy to help you in English.");
	free(tool);
	free(content);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_same_language_stays(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	char *tool, *content;
	(void)state;
	/* sticky: the Spanish agent gets Spanish again and answers itself */
	conv_init(&c);
	add_msg(&c, "user", "Hola");
	add_handoff(&c, "transfer_to_spanish_agent", "Spanish agent");
	add_msg(&c, "assistant", "¡Hola!");
	add_msg(&c, "user", "¿Qué tiempo hace hoy en Madrid?");
	add_tool(&c, "transfer_to_triage_agent", NULL);
	tool = ask(m, &c, &content);
	assert_string_equal(tool, "");
	assert_string_equal(content, "¡Hola! Con gusto te ayudo en español.");
	free(tool);
	free(content);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

static void test_call_ids_count_up(void **state)
{
	hf_mock *m = tm_start(NULL);
	conv c;
	tm_resp r;
	char *body;
	int i;
	(void)state;
	conv_init(&c);
	add_msg(&c, "user", "Hello");
	add_tool(&c, "transfer_to_english_agent", NULL);
	body = cJSON_PrintUnformatted(c.req);
	for (i = 1; i <= 2; i++) {
		cJSON *j, *call;
		char id[16];
		tm_post(&r, m, "/v1/chat/completions", body, NULL);
		j = tm_json(&r);
		call = cJSON_GetArrayItem(
		        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		                                                        cJSON_GetObjectItem(j, "choices"), 0),
		                                                "message"),
		                            "tool_calls"),
		        0);
		snprintf(id, sizeof(id), "call_%d", i);
		assert_string_equal(cJSON_GetObjectItem(call, "id")->valuestring, id);
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"),
		                                                           0),
		                                        "finish_reason")
		                            ->valuestring,
		                    "tool_calls");
		cJSON_Delete(j);
		tm_resp_dispose(&r);
	}
	free(body);
	cJSON_Delete(c.req);
	hf_mock_stop(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_detect_tolerates_bad_utf8),
		cmocka_unit_test(test_named),
		cmocka_unit_test(test_routes_each_language),
		cmocka_unit_test(test_answers_each_language),
		cmocka_unit_test(test_route_by_description),
		cmocka_unit_test(test_no_matching_tool_answers),
		cmocka_unit_test(test_route_by_topic),
		cmocka_unit_test(test_hand_back_and_reroute),
		cmocka_unit_test(test_same_language_stays),
		cmocka_unit_test(test_call_ids_count_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
