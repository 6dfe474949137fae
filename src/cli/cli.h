/* The command-line client: every `disparo` command except `serve` talks to a
 * running server over the HTTP API (docs/api.md). main() handles `serve` and
 * hands everything else here. */
#ifndef DP_CLI_H
#define DP_CLI_H

#include <stdio.h>

#include "util/version.h"

/* Runs one client command. argv[0] is the command name ("campaign", "sender",
 * ...), so main() calls cli_main(argc - 1, argv + 1). Global options (--url,
 * --token, --data, --json) may appear anywhere. Returns the process exit code:
 * 0 ok, 1 API or network error, 2 usage error. */
int cli_main(int argc, char **argv);

/* Prints the top-level help, `serve` included, to f. */
void cli_usage(FILE *f);

#endif
