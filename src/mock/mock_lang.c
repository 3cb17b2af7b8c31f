/*
 * mock_lang.c - which language a user message is written in, and which
 * language an agent or tool name names. Scripts are told apart by Unicode
 * code point ranges over the letters utf8proc classifies; Latin text by
 * small stop-word lists and accented-letter hints. Deterministic and
 * bounded: only the first MAX_CODEPOINTS code points are looked at.
 */
#include "mock_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define MAX_CODEPOINTS 4000
#define MAX_WORD 48

typedef struct lang_info {
	const char *code;
	const char *sentence;
	const char *const *names;      /* casefolded names that name the language */
	const char *const *stopwords;  /* casefolded, Latin-script languages only */
} lang_info;

static const char *const en_names[] = { "english", "ingles", "inglés", "ingl_s", "anglais",
	                                    "englisch", NULL };
static const char *const es_names[] = { "spanish", "espanol", "español", "espa_ol", "castellano",
	                                    "espagnol", "spanisch", NULL };
static const char *const fr_names[] = { "french", "francais", "français", "fran_ais", "frances",
	                                    "francés", "französisch", NULL };
static const char *const de_names[] = { "german", "deutsch", "aleman", "alemán", "alem_n",
	                                    "allemand", NULL };
static const char *const pt_names[] = { "portuguese", "portugues", "português", "portugu_s",
	                                    NULL };
static const char *const it_names[] = { "italian", "italiano", "italien", "italienisch", NULL };
static const char *const zh_names[] = { "chinese", "mandarin", "中文", "汉语", "漢語", "普通话",
	                                    NULL };
static const char *const ja_names[] = { "japanese", "nihongo", "日本語", NULL };
static const char *const ko_names[] = { "korean", "한국어", NULL };
static const char *const ru_names[] = { "russian", "русский", NULL };
static const char *const ar_names[] = { "arabic", "العربية", NULL };
static const char *const el_names[] = { "greek", "ελληνικά", NULL };
static const char *const he_names[] = { "hebrew", "עברית", NULL };
static const char *const hi_names[] = { "hindi", "हिन्दी", "हिंदी", NULL };
static const char *const th_names[] = { "thai", "ไทย", NULL };

static const char *const en_stop[] = {
	"the", "is", "are", "and", "you", "what", "how", "hello", "hi", "hey", "please", "thanks",
	"thank", "can", "could", "would", "my", "your", "to", "of", "it", "this", "that", "with",
	"for", "do", "does", "where", "when", "why", "who", "good", "morning", "help", "me", "i",
	"need", "want", "have", "an", "be", "was", "weather", "today", NULL
};
static const char *const es_stop[] = {
	"el", "la", "los", "las", "es", "está", "estás", "están", "que", "qué", "y", "en", "un",
	"una", "por", "para", "con", "hola", "gracias", "cómo", "como", "dónde", "buenos", "buenas",
	"días", "tengo", "quiero", "mi", "usted", "necesito", "ayuda", "pero", "muy", "bien", "sí",
	"del", "al", "lo", "soy", "estoy", "hoy", "tiempo", "puedes", "ayudarme", NULL
};
static const char *const fr_stop[] = {
	"le", "les", "est", "et", "je", "vous", "nous", "bonjour", "merci", "comment", "où", "une",
	"des", "du", "pour", "avec", "pas", "ne", "qui", "ça", "suis", "êtes", "salut", "oui", "très",
	"mon", "ma", "allez", "aujourd'hui", "temps", "pouvez", "aider", "aide", "besoin", "il",
	"fait", "quel", "quelle", NULL
};
static const char *const de_stop[] = {
	"der", "die", "das", "und", "ist", "ich", "sie", "wir", "nicht", "ein", "eine", "hallo",
	"danke", "wie", "wo", "was", "guten", "tag", "mit", "für", "bitte", "ja", "nein", "mein",
	"bin", "sind", "geht", "es", "dir", "ihnen", "heute", "wetter", "können", "helfen", "brauche",
	"hilfe", NULL
};
static const char *const pt_stop[] = {
	"o", "os", "é", "não", "você", "obrigado", "obrigada", "olá", "está", "um", "uma", "do", "da",
	"em", "tudo", "bem", "eu", "meu", "minha", "sim", "favor", "bom", "dia", "hoje", "tempo",
	"pode", "ajudar", "preciso", "ajuda", "oi", "estou", "como", NULL
};
static const char *const it_stop[] = {
	"il", "gli", "è", "non", "sono", "ciao", "grazie", "come", "stai", "di", "della", "per",
	"che", "buongiorno", "io", "mi", "ti", "sì", "bene", "questo", "dove", "perché", "oggi",
	"tempo", "puoi", "aiutarmi", "aiuto", "bisogno", "ho", "sta", NULL
};

static const lang_info langs[MOCK_LANG_COUNT] = {
	[MOCK_LANG_EN] = { "en", "Hello! I'm happy to help you in English.", en_names, en_stop },
	[MOCK_LANG_ES] = { "es", "¡Hola! Con gusto te ayudo en español.", es_names, es_stop },
	[MOCK_LANG_FR] = { "fr", "Bonjour ! Je vous aide volontiers en français.", fr_names, fr_stop },
	[MOCK_LANG_DE] = { "de", "Hallo! Ich helfe Ihnen gern auf Deutsch.", de_names, de_stop },
	[MOCK_LANG_PT] = { "pt", "Olá! Fico feliz em ajudar em português.", pt_names, pt_stop },
	[MOCK_LANG_IT] = { "it", "Ciao! Sono felice di aiutarti in italiano.", it_names, it_stop },
	[MOCK_LANG_ZH] = { "zh", "你好！我很乐意用中文帮助你。", zh_names, NULL },
	[MOCK_LANG_JA] = { "ja", "こんにちは！日本語でお手伝いします。", ja_names, NULL },
	[MOCK_LANG_KO] = { "ko", "안녕하세요! 한국어로 도와드리겠습니다.", ko_names, NULL },
	[MOCK_LANG_RU] = { "ru", "Здравствуйте! Рад помочь вам на русском языке.", ru_names, NULL },
	[MOCK_LANG_AR] = { "ar", "مرحبا! يسعدني مساعدتك باللغة العربية.", ar_names, NULL },
	[MOCK_LANG_EL] = { "el", "Γεια σας! Χαίρομαι να σας βοηθήσω στα ελληνικά.", el_names, NULL },
	[MOCK_LANG_HE] = { "he", "שלום! אשמח לעזור לך בעברית.", he_names, NULL },
	[MOCK_LANG_HI] = { "hi", "नमस्ते! मुझे हिंदी में आपकी मदद करके खुशी होगी।", hi_names, NULL },
	[MOCK_LANG_TH] = { "th", "สวัสดีครับ! ยินดีช่วยเหลือเป็นภาษาไทย", th_names, NULL },
};

const char *mock_lang_code(mock_lang l)
{
	return langs[l].code;
}

const char *mock_lang_sentence(mock_lang l)
{
	return langs[l].sentence;
}

/* ---- scripts ---- */

typedef enum script {
	SCRIPT_LATIN,
	SCRIPT_HAN,
	SCRIPT_KANA,
	SCRIPT_HANGUL,
	SCRIPT_CYRILLIC,
	SCRIPT_ARABIC,
	SCRIPT_GREEK,
	SCRIPT_HEBREW,
	SCRIPT_DEVANAGARI,
	SCRIPT_THAI,
	SCRIPT_OTHER,
	SCRIPT_COUNT
} script;

static const struct {
	utf8proc_int32_t lo, hi;
	script s;
} script_ranges[] = {
	{ 0x0041, 0x024F, SCRIPT_LATIN },      { 0x0370, 0x03FF, SCRIPT_GREEK },
	{ 0x0400, 0x052F, SCRIPT_CYRILLIC },   { 0x0590, 0x05FF, SCRIPT_HEBREW },
	{ 0x0600, 0x06FF, SCRIPT_ARABIC },     { 0x0750, 0x077F, SCRIPT_ARABIC },
	{ 0x0900, 0x097F, SCRIPT_DEVANAGARI }, { 0x0E00, 0x0E7F, SCRIPT_THAI },
	{ 0x1100, 0x11FF, SCRIPT_HANGUL },     { 0x1E00, 0x1EFF, SCRIPT_LATIN },
	{ 0x1F00, 0x1FFF, SCRIPT_GREEK },      { 0x3040, 0x309F, SCRIPT_KANA },
	{ 0x30A0, 0x30FF, SCRIPT_KANA },       { 0x3130, 0x318F, SCRIPT_HANGUL },
	{ 0x31F0, 0x31FF, SCRIPT_KANA },       { 0x3400, 0x4DBF, SCRIPT_HAN },
	{ 0x4E00, 0x9FFF, SCRIPT_HAN },        { 0xAC00, 0xD7AF, SCRIPT_HANGUL },
	{ 0xF900, 0xFAFF, SCRIPT_HAN },        { 0xFB50, 0xFDFF, SCRIPT_ARABIC },
	{ 0xFE70, 0xFEFF, SCRIPT_ARABIC },     { 0xFF66, 0xFF9F, SCRIPT_KANA },
	{ 0x20000, 0x2FA1F, SCRIPT_HAN },
};

static script script_of(utf8proc_int32_t cp)
{
	size_t i;
	for (i = 0; i < HF_ARRAY_LEN(script_ranges); i++)
		if (cp >= script_ranges[i].lo && cp <= script_ranges[i].hi)
			return script_ranges[i].s;
	return SCRIPT_OTHER;
}

static bool is_letter(utf8proc_int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);
	return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

static bool is_mark(utf8proc_int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);
	return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME;
}

/* ---- Latin-script hints ---- */

/* Points a lower-case letter or mark of punctuation gives each language. */
static void letter_hints(utf8proc_int32_t cp, int score[MOCK_LANG_COUNT])
{
	switch (cp) {
	case 0x00BF: /* ¿ */
	case 0x00A1: /* ¡ */
	case 0x00F1: /* ñ */
		score[MOCK_LANG_ES] += 3;
		break;
	case 0x00E3: /* ã */
	case 0x00F5: /* õ */
		score[MOCK_LANG_PT] += 3;
		break;
	case 0x00DF: /* ß */
		score[MOCK_LANG_DE] += 3;
		break;
	case 0x00E4: /* ä */
	case 0x00F6: /* ö */
	case 0x00FC: /* ü */
		score[MOCK_LANG_DE] += 2;
		break;
	case 0x00E7: /* ç */
		score[MOCK_LANG_FR] += 1;
		score[MOCK_LANG_PT] += 1;
		break;
	case 0x00EA: /* ê */
	case 0x00E2: /* â */
	case 0x00F4: /* ô */
		score[MOCK_LANG_FR] += 1;
		score[MOCK_LANG_PT] += 1;
		break;
	case 0x00EE: /* î */
	case 0x00FB: /* û */
	case 0x00EB: /* ë */
	case 0x00EF: /* ï */
	case 0x0153: /* œ */
		score[MOCK_LANG_FR] += 2;
		break;
	case 0x00E8: /* è */
		score[MOCK_LANG_FR] += 1;
		score[MOCK_LANG_IT] += 1;
		break;
	case 0x00E0: /* à */
		score[MOCK_LANG_FR] += 1;
		score[MOCK_LANG_IT] += 1;
		score[MOCK_LANG_PT] += 1;
		break;
	case 0x00EC: /* ì */
	case 0x00F2: /* ò */
		score[MOCK_LANG_IT] += 2;
		break;
	case 0x00F9: /* ù */
		score[MOCK_LANG_IT] += 1;
		score[MOCK_LANG_FR] += 1;
		break;
	case 0x00E1: /* á */
	case 0x00ED: /* í */
	case 0x00F3: /* ó */
	case 0x00FA: /* ú */
		score[MOCK_LANG_ES] += 1;
		score[MOCK_LANG_PT] += 1;
		break;
	default:
		break;
	}
}

/* All stop words of all languages, sorted, for binary search. */
typedef struct stopword {
	const char *word;
	mock_lang lang;
} stopword;

static stopword *stopwords;
static size_t nstopwords;
static pthread_once_t stopwords_once = PTHREAD_ONCE_INIT;

static int cmp_stopword(const void *a, const void *b)
{
	return strcmp(((const stopword *)a)->word, ((const stopword *)b)->word);
}

static void index_stopwords(void)
{
	size_t n = 0, l;
	const char *const *w;
	for (l = 0; l < MOCK_LANG_COUNT; l++)
		for (w = langs[l].stopwords; w && *w; w++)
			n++;
	stopwords = hf_calloc(n, sizeof(*stopwords));
	if (!stopwords)
		return; /* detection falls back to scripts and letters */
	for (l = 0; l < MOCK_LANG_COUNT; l++)
		for (w = langs[l].stopwords; w && *w; w++)
			stopwords[nstopwords++] = (stopword){ *w, (mock_lang)l };
	qsort(stopwords, nstopwords, sizeof(*stopwords), cmp_stopword);
}

/* Two points to every language that has word as a stop word. */
static void word_hints(const char *word, int score[MOCK_LANG_COUNT])
{
	stopword key = { word, MOCK_LANG_EN };
	const stopword *hit = nstopwords ? bsearch(&key, stopwords, nstopwords,
	                                           sizeof(*stopwords), cmp_stopword)
	                                 : NULL;
	const stopword *end = stopwords + nstopwords, *p;
	if (!hit)
		return;
	while (hit > stopwords && !strcmp(hit[-1].word, word))
		hit--;
	for (p = hit; p < end && !strcmp(p->word, word); p++)
		score[p->lang] += 2;
}

mock_lang mock_lang_detect(const char *text, size_t len)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
	utf8proc_ssize_t left = (utf8proc_ssize_t)len;
	size_t counts[SCRIPT_COUNT] = { 0 }, seen = 0, best_count;
	int score[MOCK_LANG_COUNT] = { 0 }, l, best;
	char word[MAX_WORD + 8];
	size_t wlen = 0;
	bool word_ok = true;
	static const struct {
		script s;
		mock_lang l;
		size_t weight;
	} scripts[] = {
		{ SCRIPT_HAN, MOCK_LANG_ZH, 3 },      { SCRIPT_CYRILLIC, MOCK_LANG_RU, 1 },
		{ SCRIPT_ARABIC, MOCK_LANG_AR, 1 },   { SCRIPT_GREEK, MOCK_LANG_EL, 1 },
		{ SCRIPT_HEBREW, MOCK_LANG_HE, 1 },   { SCRIPT_DEVANAGARI, MOCK_LANG_HI, 1 },
		{ SCRIPT_THAI, MOCK_LANG_TH, 1 },
	};
	size_t i;
	mock_lang other = MOCK_LANG_EN;

	pthread_once(&stopwords_once, index_stopwords);

	while (left > 0 && seen < MAX_CODEPOINTS) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
		bool letter;
		if (n <= 0) { /* invalid byte: skip it */
			n = 1;
			cp = ' ';
		}
		p += n;
		left -= n;
		seen++;
		letter = is_letter(cp);
		if (letter)
			counts[script_of(cp)]++;
		cp = utf8proc_tolower(cp);
		letter_hints(cp, score);
		if (letter || (wlen && (cp == '\'' || is_mark(cp)))) {
			utf8proc_uint8_t enc[4];
			utf8proc_ssize_t e = utf8proc_encode_char(cp, enc);
			if (wlen + (size_t)e <= MAX_WORD) {
				memcpy(word + wlen, enc, (size_t)e);
				wlen += (size_t)e;
			} else {
				word_ok = false;
			}
			continue;
		}
		if (wlen && word_ok) {
			word[wlen] = '\0';
			word_hints(word, score);
		}
		wlen = 0;
		word_ok = true;
	}
	if (wlen && word_ok) {
		word[wlen] = '\0';
		word_hints(word, score);
	}

	if (counts[SCRIPT_KANA])
		return MOCK_LANG_JA;
	if (counts[SCRIPT_HANGUL] && counts[SCRIPT_HANGUL] >= counts[SCRIPT_HAN])
		return MOCK_LANG_KO;
	best_count = 0;
	for (i = 0; i < HF_ARRAY_LEN(scripts); i++) {
		if (counts[scripts[i].s] * scripts[i].weight > best_count) {
			best_count = counts[scripts[i].s] * scripts[i].weight;
			other = scripts[i].l;
		}
	}
	if (best_count && best_count >= counts[SCRIPT_LATIN])
		return other;
	best = MOCK_LANG_EN;
	for (l = MOCK_LANG_EN; l <= MOCK_LANG_IT; l++)
		if (score[l] > score[best])
			best = l;
	return (mock_lang)best;
}

/* ---- names ---- */

static bool ascii_letter(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether needle occurs in hay; an ASCII needle only as a whole word (no
 * ASCII letter on either side), so "thai" does not match "thailand". */
static bool names_word(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	bool ascii = (unsigned char)needle[0] < 0x80;
	const char *p = hay;
	while ((p = strstr(p, needle)) != NULL) {
		if (!ascii)
			return true;
		if ((p == hay || !ascii_letter((unsigned char)p[-1])) &&
		    !ascii_letter((unsigned char)p[n]))
			return true;
		p++;
	}
	return false;
}

int mock_lang_named(const char *text)
{
	utf8proc_uint8_t *folded = NULL;
	int l, found = -1;
	if (!text || !*text)
		return -1;
	if (utf8proc_map((const utf8proc_uint8_t *)text, 0, &folded,
	                 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
	                         UTF8PROC_CASEFOLD) < 0)
		return -1;
	for (l = 0; l < MOCK_LANG_COUNT; l++) {
		const char *const *n;
		for (n = langs[l].names; *n; n++) {
			if (names_word((const char *)folded, *n)) {
				if (found >= 0 && found != l) {
					free(folded);
					return -1;
				}
				found = l;
				break;
			}
		}
	}
	free(folded);
	return found;
}
