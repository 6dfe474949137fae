/* logfmt writer. Values that contain spaces, quotes or '=' are quoted by the
 * caller's format ("%s" becomes \"%s\" where needed); the message is always
 * quoted here. One write(2) per line so concurrent processes do not interleave. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
    min_level = lvl;
}

int log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static size_t put_quoted(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return 0;
    dst[n++] = '"';
    for (; *s && n + 3 < cap; s++) {
        if (*s == '"' || *s == '\\')
            dst[n++] = '\\';
        dst[n++] = (*s == '\n') ? ' ' : *s;
    }
    dst[n++] = '"';
    return n;
}

void log_emit(enum log_level lvl, const char *msg, const char *kvfmt, ...)
{
    if (lvl < min_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[lvl]);
    size_t len = (size_t)n;
    len += put_quoted(line + len, sizeof line - len - 2, msg);
    if (kvfmt && *kvfmt) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, kvfmt);
        int m = vsnprintf(line + len, sizeof line - len - 1, kvfmt, ap);
        va_end(ap);
        if (m > 0)
            len += (size_t)m < sizeof line - len - 1 ? (size_t)m : sizeof line - len - 2;
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
