/* Command-line parsing for the client: one table of options per command,
 * checked number parsing, and JSON or file arguments. Usage errors are printed
 * here so every command words them the same way. */
#ifndef DP_CLI_ARGS_H
#define DP_CLI_ARGS_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"

/* Exit codes (cli_main's contract) and the "help was printed" signal. */
#define CLI_OK 0
#define CLI_EAPI 1
#define CLI_EUSAGE 2
#define CLI_HELP (-1)

#define CLI_MULTI_MAX 64

enum cli_opt_kind {
    CLI_OPT_FLAG,  /* int *: set to 1 */
    CLI_OPT_STR,   /* const char **: the value, borrowed from argv; last one wins */
    CLI_OPT_MULTI, /* struct cli_multi *: every value, in order */
};

struct cli_multi {
    const char *v[CLI_MULTI_MAX];
    size_t n;
};

struct cli_opt {
    const char *name; /* "--name" */
    enum cli_opt_kind kind;
    void *dst;
};

/* Parses argv[1..argc) against opts (ended by a {NULL} entry); argv[0] names
 * the command. Options take their value as "--opt V" or "--opt=V" and may sit
 * before, between or after positionals; "--" ends the options. Positionals are
 * borrowed into pos (at most maxpos; *npos says how many).
 * Returns CLI_OK; CLI_HELP after printing usage to stdout for --help or -h;
 * CLI_EUSAGE after printing the problem and usage's synopsis to stderr. */
int cli_args_parse(const char *usage, int argc, char **argv, const struct cli_opt *opts,
                   const char **pos, size_t maxpos, size_t *npos);

/* cli_args_parse for a command whose one positional is an id: when it is
 * missing or not an id, the usage error is worded by fmt. Same results as
 * cli_args_parse. */
int cli_args_parse_id(const char *usage, int argc, char **argv, const struct cli_opt *opts,
                      long long *id, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The exit code for what a parse returned: CLI_HELP (the usage was printed,
 * so the command is done) is success; any other code stays. Commands give up
 * at once on a parse that is not CLI_OK and return through this. */
int cli_args_exit(int rc);

/* Prints "error: ..." and the synopsis of usage (its text up to the first
 * blank line) to stderr; returns CLI_EUSAGE. */
int cli_args_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A decimal integer in [min, max], nothing else around it. Returns 0 or -1. */
int cli_args_llong(const char *s, long long min, long long max, long long *out)
    __attribute__((warn_unused_result));
/* A positive id. Returns 0 or -1. */
int cli_args_id(const char *s, long long *out) __attribute__((warn_unused_result));
/* A finite number in [min, max]. Returns 0 or -1. */
int cli_args_double(const char *s, double min, double max, double *out)
    __attribute__((warn_unused_result));

/* Reads the whole of path ("-" = stdin) into out (initialised by the caller,
 * whose cap bounds the read). On failure err gets "cannot read PATH: why" or
 * "PATH is larger than N MiB". Returns DP_OK, DP_ETOOBIG or DP_EIO. */
int cli_args_read_file(const char *path, dp_buf *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* JSON given inline, or read from a file when s is "@FILE" ("@-" = stdin).
 * On success *out is a new reference the caller releases; on failure the
 * reason (with line and column) is written to err. Returns 0 or -1. */
int cli_args_json(const char *s, json_t **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
