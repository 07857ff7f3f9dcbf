/* One option table per command: it drives parsing, --help and the daxvm.1 man page. */
#ifndef DAXVM_CLI_OPTIONS_H
#define DAXVM_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

/* How an option's value reaches the command's options struct (at opt.off). */
enum opt_kind {
	OPT_FLAG,	/* bool = true; takes no value */
	OPT_STR,	/* const char * = the text; empty refused ("--X is empty: give <fix>") */
	OPT_SIZE,	/* uint64_t bytes from "512M" (common/size.h); 0 refused */
	OPT_UINT,	/* unsigned, decimal, min..max */
	OPT_U64,	/* uint64_t, decimal, min..max */
	OPT_SECONDS,	/* double seconds, min (0 or above 0, see min) .. max */
	OPT_CALL,	/* opt.set decides */
	OPT_HELP,	/* -h/--help: sets parse's *help; takes no value */
};

#define OPT_NAMES_MAX 16

struct opt {
	const char *name;	/* long name with its dashes: "--mem-size" */
	char short_name;	/* 'h' for -h; 0: none */
	const char *value;	/* placeholder shown after the name ("SIZE"); NULL with choices: the
				 * choices joined by '|'; ignored for OPT_FLAG */
	const char *help;	/* what it does: one paragraph, one line, reflowed by --help */
	const char *def;	/* default as the user reads it; NULL: numeric kinds show the value
				 * the command's defaults() sets, others show none */
	enum opt_kind kind;
	size_t off;		/* offsetof(target field) in the command's struct */
	unsigned long long min, max;	/* OPT_UINT/OPT_U64 bounds; OPT_SECONDS: min 0 allows 0,
					 * min 1 wants more than 0; max in whole seconds */
	const char *fix;	/* how to give a good value, for messages ("such as 512M") */
	/* OPT_CALL: parse val into target; on error one sentence naming opt->name. */
	int (*set)(const struct opt *o, void *target, const char *val, struct err *e);
	/* The values the option takes, for the placeholder and messages: fills names, returns
	 * how many. NULL: free-form. */
	size_t (*choices)(const char **names, size_t max);
};

/* A command: its table, its texts and how to fill its defaults. */
struct opt_command {
	const char *name;		/* "run" */
	const char *summary;		/* one line: daxvm --help and the man page list it */
	const char *description;	/* paragraphs separated by "\n\n"; each reflowed */
	const char *exit_status;	/* one paragraph */
	const struct opt *opts;
	size_t nr_opts;
	size_t target_size;		/* sizeof the options struct */
	void (*defaults)(void *target);	/* fills target before parsing (and for --help defaults) */
};

/* Parses argv[1..] (argv[0] is the command name) into target, which defaults() has filled.
 * "--opt VALUE", "--opt=VALUE", flags, and -h/--help (sets *help, keeps parsing). Returns 0 or
 * -EINVAL with one sentence in e naming the option and the fix. */
int opts_parse(const struct opt_command *c, int argc, char **argv, void *target, bool *help,
	       struct err *e);

/* "--pin 'x' is not a pinning backend: use auto, io_uring, vfio, iommufd or none", the names
 * coming from o->choices. what: "a pinning backend". */
int opts_choice_error(const struct opt *o, const char *val, const char *what, struct err *e);

/* The placeholder of o ("SIZE", "auto|io_uring|..."), "" for a flag. */
const char *opts_value_name(const struct opt *o, char *buf, size_t len);

/* The default of o as shown to the user, or NULL when it has none. */
const char *opts_default_text(const struct opt_command *c, const struct opt *o, char *buf,
			      size_t len);

/* o's help with its default: "vCPUs, 1 to 64 (default 2)". What --help and the man page say. */
const char *opts_help_text(const struct opt_command *c, const struct opt *o, char *buf, size_t len);

/* text as --help prints prose: paragraphs split at "\n\n", each reflowed to 80 columns. */
void opts_paragraphs(FILE *out, const char *text);

/* 'daxvm NAME --help'. */
void opts_usage(const struct opt_command *c, FILE *out);

/* The man page section of one command (roff, .SS). */
void opts_man_command(const struct opt_command *c, FILE *out);

/* roff text: dashes and backslashes escaped, a leading '.' or '\'' guarded. */
void opts_roff(const char *text, FILE *out);

#endif
