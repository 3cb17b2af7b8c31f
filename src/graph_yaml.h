/*
 * graph_yaml.h - YAML text to a small tree of positioned nodes (libyaml
 * events), with the limits that keep hostile input cheap: size, UTF-8,
 * nesting depth, alias expansion. Used by the graph loader.
 */
#ifndef HF_GRAPH_YAML_H
#define HF_GRAPH_YAML_H

#include "graph.h"

#define GY_TEXT_MAX (1024 * 1024) /* bytes in one file */
#define GY_DEPTH_MAX 32           /* nested mappings and lists */
#define GY_NODES_MAX 1000000      /* nodes in a file, aliases expanded */

typedef enum gy_kind { GY_SCALAR, GY_SEQ, GY_MAP } gy_kind;

typedef struct gy_node gy_node;
struct gy_node {
	gy_kind kind;
	bool plain;       /* a plain scalar without a tag: may be null, bool, number */
	int line, col;    /* 1-based, from the libyaml start mark */
	const char *str;  /* scalar text, NUL-terminated (may hold NULs: see len) */
	size_t len;
	gy_node **kids;   /* SEQ: the items; MAP: key, value, key, value, ... */
	size_t nkids;     /* SEQ: items; MAP: 2 x pairs */
	size_t weight;    /* nodes in this subtree, aliases expanded */
};

/* The documents of one text; all nodes live in its arena. */
typedef struct gy_tree gy_tree;

/* Parse text[0..len). Problems (over the size limit, invalid UTF-8,
 * invalid YAML, too deep, aliases) are added to d as errors under `file`,
 * and the tree then has no documents. Returns HF_OK or HF_ENOMEM. */
int gy_parse(gy_tree **out, const char *text, size_t len, const char *file, hf_diag *d);
void gy_free(gy_tree *t);

/* Report, under `file`, that its text is over GY_TEXT_MAX bytes.
 * HF_OK or HF_ENOMEM. */
int gy_report_too_big(hf_diag *d, const char *file);

size_t gy_doc_count(const gy_tree *t);
/* Document i's root node (an empty document is a null scalar). */
const gy_node *gy_doc(const gy_tree *t, size_t i);

/* True for a plain null: empty, ~, null, Null, NULL. */
bool gy_is_null(const gy_node *n);

#endif
