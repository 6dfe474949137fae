/* Structured logging: one logfmt line per event on stderr,
 *   ts=2026-11-25T20:52:29.123Z level=info msg="campaign started" campaign=3
 * Key/value pairs are passed as a printf format whose values the caller quotes
 * with log_q() when they may hold spaces. */
#ifndef DP_LOG_H
#define DP_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_parse_level(const char *s);
/* msg is the human message; kvfmt (may be NULL) formats extra key=value pairs. */
void log_emit(enum log_level lvl, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) log_emit(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_emit(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_emit(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_emit(LOG_ERROR, msg, __VA_ARGS__)

#endif
