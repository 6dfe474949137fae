/* What every sender's unit test checks the same way, whatever the gateway:
 * a config validate() must reject, and a send or health check that answers
 * later, from the loop, never from inside the call. Failures fail the
 * running test. */
#ifndef DP_TEST_SENDERCHECK_H
#define DP_TEST_SENDERCHECK_H

#include "senders/sender.h"

struct event_base;

/* vt->validate rejects the JSON text cfg_text with DP_EINVAL, and e carries
 * that code and a message containing needle. */
void sendercheck_invalid(const struct sender_vtab *vt, const char *cfg_text, const char *needle);

/* Starts m on s and runs base until *n_done (which done counts) has grown by
 * one; fails when done was called from inside send(). */
void sendercheck_send(struct event_base *base, const struct sender_vtab *vt, sender *s,
                      const struct sender_msg *m, sender_done_fn done, void *ud,
                      const int *n_done);

/* The same for a health check: *n_health is what done counts. */
void sendercheck_health(struct event_base *base, const struct sender_vtab *vt, sender *s,
                        sender_health_fn done, void *ud, const int *n_health);

#endif
