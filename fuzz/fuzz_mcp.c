/*
 * fuzz_mcp.c - what an MCP server sends, read by the client: the bytes as
 * a stdio stream (hf_mcp_lines_feed, whole and in splits derived from the
 * input: the same lines either way) and as a Streamable HTTP SSE answer
 * (hf_sse), each line or event parsed as a JSON-RPC message
 * (hf_mcp_rpc_parse) and, when it is an answer, read as an initialize,
 * tools/list and tools/call result. Never a crash or a leak; only the
 * documented errors.
 */
#include "fuzz.h"

#include "mcp_rpc.h"
#include "mcp_stdio.h"
#include "sse.h"

#include <string.h>

#define MAX_LINE 4096 /* small, so the limits are reached too */

/* Read one message the way the host does. */
static void message(const char *text, size_t len)
{
	hf_mcp_msg m;
	hf_error err;
	int rc = hf_mcp_rpc_parse(&m, text, len, &err);
	FUZZ_CHECK(rc == HF_OK || rc == HF_EPROTOCOL);
	if (rc)
		return;
	FUZZ_CHECK(m.kind != HF_MCP_MSG_RESPONSE || !m.method);
	FUZZ_CHECK(m.kind == HF_MCP_MSG_RESPONSE || m.method);
	if (m.kind == HF_MCP_MSG_REQUEST) {
		char *reply = hf_mcp_rpc_reply(m.raw_id, strcmp(m.method, "ping") ? "no" : NULL);
		FUZZ_CHECK(reply);
		free(reply);
	}
	rc = m.kind == HF_MCP_MSG_RESPONSE ? hf_mcp_rpc_check(&m, &err) : HF_EPROTOCOL;
	FUZZ_CHECK(rc == HF_OK || rc == HF_EPROTOCOL);
	if (rc == HF_OK) {
		const char *version;
		char *text_out = NULL, *cursor = NULL;
		hf_mcp_tool *tools = NULL;
		size_t n = 0, cap = 0;
		bool is_error;
		rc = hf_mcp_rpc_init_result(m.result, &version, &err);
		FUZZ_CHECK(rc == HF_OK ? version != NULL : rc == HF_EPROTOCOL);
		rc = hf_mcp_rpc_tools_page(m.result, &tools, &n, &cap, &cursor, &err);
		FUZZ_CHECK(rc == HF_OK || rc == HF_EPROTOCOL);
		for (size_t i = 0; rc == HF_OK && i < n; i++)
			FUZZ_CHECK(tools[i].name && tools[i].input_schema);
		hf_mcp_tool_list_free(tools, n);
		free(cursor);
		rc = hf_mcp_rpc_call_text(m.result, &text_out, &is_error, &err);
		FUZZ_CHECK(rc == HF_OK ? text_out != NULL : rc == HF_EPROTOCOL && !text_out);
		free(text_out);
	}
	hf_mcp_msg_dispose(&m);
}

/* Lines seen, as "line\0" records; each also read as a message. */
static int on_line(void *payload, const char *line, size_t len)
{
	hf_buf *log = payload;
	FUZZ_CHECK(len > 0 && !memchr(line, '\n', len));
	FUZZ_CHECK(hf_buf_append(log, line, len) == HF_OK && hf_buf_append(log, "", 1) == HF_OK);
	if (log->len < 200000) /* the split feed repeats the work: read once */
		message(line, len);
	return 0;
}

static int lines(hf_buf *log, const uint8_t *data, size_t size, uint64_t *state)
{
	hf_buf acc = HF_BUF_INIT;
	size_t off = 0, used;
	int rc = HF_OK;
	while (off < size) {
		size_t n = size - off;
		if (state) {
			uint64_t r = fuzz_next(state);
			n = 1 + (size_t)(r >> 8) % ((r & 3) ? 16 : 900);
			if (n > size - off)
				n = size - off;
		}
		rc = hf_mcp_lines_feed(&acc, (const char *)data + off, n, MAX_LINE, &used, on_line, log);
		FUZZ_CHECK(rc == HF_OK || rc == HF_ELIMIT);
		FUZZ_CHECK(used == n);
		off += n;
		if (rc == HF_ELIMIT) /* the host restarts the server: the stream ends */
			break;
	}
	hf_buf_dispose(&acc);
	return rc;
}

static int on_event(void *payload, const char *event, const char *data, size_t len)
{
	(void)payload;
	if (strcmp(event, "message") == 0 && len)
		message(data, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hf_buf whole = HF_BUF_INIT, split = HF_BUF_INIT;
	uint64_t state = fuzz_hash(data, size);
	hf_sse sse;
	hf_error err;
	int rc_whole = lines(&whole, data, size, NULL);
	int rc_split = lines(&split, data, size, &state);

	FUZZ_CHECK(rc_whole == rc_split);
	FUZZ_CHECK(whole.len == split.len &&
	           (whole.len == 0 || memcmp(whole.data, split.data, whole.len) == 0));
	hf_buf_dispose(&split);
	hf_buf_dispose(&whole);

	hf_sse_init(&sse, MAX_LINE, on_event, NULL);
	if (hf_sse_feed(&sse, (const char *)data, size, &err) == HF_OK)
		hf_sse_finish(&sse, &err);
	hf_sse_dispose(&sse);
	return 0;
}
